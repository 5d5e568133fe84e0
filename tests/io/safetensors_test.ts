import assert from "node:assert/strict";
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  type StoredTensor,
  writeSafetensors,
} from "../../runtime/io/safetensors.ts";

/** A safetensors file assembled byte by byte, independently of our writer. */
function handMade(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  out[0] = h.length & 0xff; // little-endian u64; our headers stay below 64 KiB
  out[1] = h.length >> 8;
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("safetensors: reads a hand-made file of every supported dtype", () => {
  // F32 1.5 = 0x3FC00000; F16 1.0 = 0x3C00, F16 -0.5 = 0xB800; BF16 -2.0 = 0xC000;
  // F64 0.25 = 0x3FD0000000000000; I64 -2; I32 70000 = 0x00011170; U8 255; BOOL 1; I16 -3; I8 -4.
  const header = JSON.stringify({
    a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    b: { dtype: "F16", shape: [2], data_offsets: [4, 8] },
    c: { dtype: "BF16", shape: [], data_offsets: [8, 10] },
    d: { dtype: "F64", shape: [1, 1], data_offsets: [10, 18] },
    e: { dtype: "I64", shape: [1], data_offsets: [18, 26] },
    f: { dtype: "I32", shape: [1], data_offsets: [26, 30] },
    g: { dtype: "U8", shape: [1], data_offsets: [30, 31] },
    h: { dtype: "BOOL", shape: [1], data_offsets: [31, 32] },
    i: { dtype: "I16", shape: [1], data_offsets: [32, 34] },
    j: { dtype: "I8", shape: [0], data_offsets: [34, 34] },
    k: { dtype: "I8", shape: [1], data_offsets: [34, 35] },
    __metadata__: { format: "pt" },
  }) + "   "; // trailing spaces, as the reference writer pads
  const bytes = handMade(header, [
    ...[0x00, 0x00, 0xc0, 0x3f],
    ...[0x00, 0x3c, 0x00, 0xb8],
    ...[0x00, 0xc0],
    ...[0, 0, 0, 0, 0, 0, 0xd0, 0x3f],
    ...[0xfe, 255, 255, 255, 255, 255, 255, 255],
    ...[0x70, 0x11, 0x01, 0x00],
    255,
    1,
    ...[0xfd, 0xff],
    0xfc,
  ]);
  const file = parseSafetensors(bytes, "hand.safetensors");
  const value = (k: string) => [file.tensors.get(k)!.dtype, Array.from(file.tensors.get(k)!.data)];
  assert.deepEqual(value("a"), ["float32", [1.5]]);
  assert.deepEqual(value("b"), ["float32", [1, -0.5]]);
  assert.deepEqual(value("c"), ["float32", [-2]]);
  assert.deepEqual(value("d"), ["float32", [0.25]]);
  assert.deepEqual(file.tensors.get("d")!.shape, [1, 1]);
  assert.deepEqual(value("e"), ["int32", [-2]]);
  assert.deepEqual(value("f"), ["int32", [70000]]);
  assert.deepEqual(value("g"), ["uint8", [255]]);
  assert.deepEqual(value("h"), ["uint8", [1]]);
  assert.deepEqual(value("i"), ["int32", [-3]]);
  assert.deepEqual(value("j"), ["int32", []]);
  assert.deepEqual(value("k"), ["int32", [-4]]);
  assert.deepEqual(file.metadata, { format: "pt" });
});

Deno.test("safetensors: the writer's bytes are exactly the format's", () => {
  const bytes = serializeSafetensors([
    ["a", { dtype: "float32", shape: [2], data: new Float32Array([1, -2]) }],
    ["b", { dtype: "int32", shape: [], data: Int32Array.of(7) }],
    ["c", { dtype: "uint8", shape: [3], data: Uint8Array.of(1, 2, 3) }],
  ], { k: "v" });
  const json = '{"__metadata__":{"k":"v"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"I32","shape":[],"data_offsets":[8,12]},' +
    '"c":{"dtype":"U8","shape":[3],"data_offsets":[12,15]}}';
  const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
  assert.equal(padded.length % 8, 0);
  const expected = handMade(padded, [
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
    ...[0x00, 0x00, 0x00, 0xc0], // -2.0f
    ...[0x07, 0x00, 0x00, 0x00], // 7
    1,
    2,
    3,
  ]);
  assert.deepEqual(Array.from(bytes), Array.from(expected));
  assert.throws(
    () =>
      serializeSafetensors([["x", { dtype: "float32", shape: [3], data: new Float32Array(2) }]]),
    /tensor 'x' declares float32 \[3\] \(3 values\) but holds Float32Array\(2\)/,
  );
  const t: StoredTensor = { dtype: "int32", shape: [1], data: Int32Array.of(1) };
  assert.throws(() => serializeSafetensors([["x", t], ["x", t]]), /'x' is reserved or repeated/);
});

Deno.test("safetensors: files round-trip through disk, written atomically", async () => {
  await Deno.mkdir(".cache", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".cache" });
  try {
    const tensors: [string, StoredTensor][] = [
      ["w", { dtype: "float32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }],
      ["n", { dtype: "int32", shape: [1], data: Int32Array.of(-9) }],
      ["mask", { dtype: "uint8", shape: [2], data: Uint8Array.of(0, 200) }],
    ];
    await writeSafetensors(`${dir}/t.safetensors`, tensors, { note: "x" });
    await writeSafetensors(`${dir}/t.safetensors`, tensors, { note: "y" }); // replaces
    const back = await readSafetensors(`${dir}/t.safetensors`);
    assert.deepEqual(
      [...back.tensors].map(([k, t]) => [k, t.dtype, t.shape, Array.from(t.data)]),
      tensors.map(([k, t]) => [k, t.dtype, t.shape, Array.from(t.data)]),
    );
    assert.deepEqual(back.metadata, { note: "y" });
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["t.safetensors"], "no temporary file is left behind");
    await assert.rejects(
      () => readSafetensors(`${dir}/absent.safetensors`),
      /absent.*cannot be read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: corrupt files fail naming the file, the tensor and the problem", () => {
  const good = serializeSafetensors([
    ["w", { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
  ]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated", good.subarray(0, good.length - 3), /'w' ends at byte 16 but .* 13 data bytes/],
    ["short", good.subarray(0, 5), /5 bytes is shorter than the 8-byte header length/],
    ["trailing", Uint8Array.from([...good, 0]), /1 bytes after the last tensor/],
    [
      "overlap",
      handMade(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
          '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        [0, 0, 0, 0],
      ),
      /'b' starts at byte 0, expected 4 \(overlapping or gapped/,
    ],
    [
      "gap",
      handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Array(8).fill(0)),
      /'a' starts at byte 4, expected 0/,
    ],
    [
      "size",
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      /'a' has 4 bytes but shape \[2\] of F32 needs 8/,
    ],
    ["json", handMade('{"a":', []), /JSON header does not parse/],
    ["start", handMade("[]", []), /does not start with '\{'/],
    [
      "dtype",
      handMade('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /'a' has dtype "C64"; supported are/,
    ],
    [
      "shape",
      handMade('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', [0]),
      /'a' has shape \[-1\]/,
    ],
    [
      "offsets",
      handMade('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', [0]),
      /'a' has data_offsets \[1,0\]/,
    ],
    [
      "metadata",
      handMade('{"__metadata__":{"n":1}}', []),
      /'__metadata__' must map strings to strings/,
    ],
    [
      "int64",
      handMade(
        '{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}',
        [0, 0, 0, 0x80, 0, 0, 0, 0],
      ),
      /'a' holds the int64 value 2147483648 at index 0, outside int32's range/,
    ],
  ];
  for (const [name, bytes, pattern] of cases) {
    assert.throws(
      () => parseSafetensors(bytes, `${name}.st`),
      (e: Error) => e.message.startsWith(`${name}.st:`) && pattern.test(e.message),
      name,
    );
  }
  const longHeader = good.slice();
  new DataView(longHeader.buffer).setBigUint64(0, 1000n, true);
  assert.throws(
    () => parseSafetensors(longHeader, "len.st"),
    /len\.st: .*the header claims 1000 bytes but the file has \d+ after it/,
  );
});
