import assert from "node:assert/strict";
import {
  crc32c,
  decodeEventFile,
  encodeFileVersionEvent,
  encodeRecord,
  encodeScalarsEvent,
  eventFileName,
  maskedCrc32c,
  ScalarEventWriter,
} from "../../runtime/report/tfevents.ts";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time CRC-32C, independent of the module's table-driven one. */
function slowCrc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (c & 1 ? 0x82f63b78 : 0);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The TFRecord mask, in BigInt arithmetic so that no 32-bit JS quirk is shared with the code. */
function slowMask(c: number): number {
  const x = BigInt(c);
  const rotated = ((x >> 15n) | (x << 17n)) & 0xffffffffn;
  return Number((rotated + 0xa282ead8n) & 0xffffffffn);
}

function u32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** Checks one record's framing at `at` with the independent CRC; returns its payload. */
function unframe(bytes: Uint8Array, at = 0): Uint8Array {
  const length = u32le(bytes, at) + 2 ** 32 * u32le(bytes, at + 4);
  assert.equal(u32le(bytes, at + 8), slowMask(slowCrc32c(bytes.subarray(at, at + 8))));
  const payload = bytes.subarray(at + 12, at + 12 + length);
  assert.equal(u32le(bytes, at + 12 + length), slowMask(slowCrc32c(payload)));
  return payload;
}

/** Minimal protobuf field splitter: [field, wireType, value] with raw bytes for non-varints. */
function fields(bytes: Uint8Array): Array<[number, number, number | Uint8Array]> {
  const out: Array<[number, number, number | Uint8Array]> = [];
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let scale = 1;; scale *= 128) {
      const b = bytes[i++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) out.push([field, wire, varint()]);
    else {
      const n = wire === 1 ? 8 : wire === 5 ? 4 : varint();
      out.push([field, wire, bytes.slice(i, i + n)]);
      i += n;
    }
  }
  return out;
}

const f64 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getFloat64(0, true);
const f32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getFloat32(0, true);

Deno.test("crc32c: RFC 3720 B.4 test vectors", () => {
  assert.equal(crc32c(ascii("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("crc32c: agrees with a bitwise implementation; mask matches the TFRecord formula", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff);
  for (const n of [1, 7, 8, 255, 1000]) {
    const part = bytes.subarray(0, n);
    assert.equal(crc32c(part), slowCrc32c(part));
    assert.equal(maskedCrc32c(part), slowMask(slowCrc32c(part)));
  }
  assert.equal(maskedCrc32c(new Uint8Array(0)), 0xa282ead8);
});

Deno.test("encodeScalarsEvent: step 3, wall 1.5, a = 0.5 gives hand-computed bytes", () => {
  const payload = [
    ...[0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f], // wall_time: double 1.5 = 0x3FF8000000000000
    ...[0x10, 0x03], // step: varint 3
    ...[0x2a, 0x0a], // summary: 10 bytes
    ...[0x0a, 0x08], // Summary.value: 8 bytes
    ...[0x0a, 0x01, 0x61], // Value.tag "a"
    ...[0x15, 0, 0, 0, 0x3f], // Value.simple_value: float 0.5 = 0x3F000000
  ];
  const record = encodeScalarsEvent(3, 1.5, { a: 0.5 });
  assert.equal(record.length, 8 + 4 + payload.length + 4);
  assert.deepEqual([...record.subarray(0, 8)], [payload.length, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...unframe(record)], payload);
  assert.deepEqual(encodeRecord(Uint8Array.from(payload)), record);
});

Deno.test("encodeFileVersionEvent: wall_time then file_version, nothing else", () => {
  const payload = unframe(encodeFileVersionEvent(2));
  assert.deepEqual([...payload], [
    ...[0x09, 0, 0, 0, 0, 0, 0, 0, 0x40], // 2.0 = 0x4000000000000000
    ...[0x1a, 13, ...ascii("brain.Event:2")],
  ]);
});

Deno.test("encodeScalarsEvent: several values, sorted by tag, non-finite kept, big step", () => {
  const step = 2 ** 40 + 5;
  const values = { "val/miou": 0.625, "b": NaN, "a/x": 1.25, "c": -Infinity };
  const event = fields(unframe(encodeScalarsEvent(step, 1.7e9 + 0.25, values)));
  assert.deepEqual(event.map(([f, w]) => [f, w]), [[1, 1], [2, 0], [5, 2]]);
  assert.equal(f64(event[0][2] as Uint8Array), 1.7e9 + 0.25);
  assert.equal(event[1][2], step);
  const summary = fields(event[2][2] as Uint8Array);
  assert.ok(summary.every(([f, w]) => f === 1 && w === 2));
  const decoded = summary.map(([, , v]) => {
    const [[tf, tw, tag], [vf, vw, value]] = fields(v as Uint8Array);
    assert.deepEqual([tf, tw, vf, vw], [1, 2, 2, 5]);
    return [new TextDecoder().decode(tag as Uint8Array), f32(value as Uint8Array)];
  });
  assert.deepEqual(decoded, [["a/x", 1.25], ["b", NaN], ["c", -Infinity], ["val/miou", 0.625]]);
});

Deno.test("eventFileName: integer seconds and host, with 'tfevents' in it", () => {
  assert.equal(eventFileName(1712345678.9, "box"), "events.out.tfevents.1712345678.box");
});

async function writeRun(path: string): Promise<void> {
  const writer = await ScalarEventWriter.create(path);
  try {
    await writer.write(10, 1000.5, { loss: 0.1, lr: 6e-5 });
    // Writes issued together must still land whole and in order.
    await Promise.all([
      writer.write(20, 1001.5, { loss: 0.05 }),
      writer.write(30, 1002.5, { loss: NaN, "val/miou": 0.4 }),
    ]);
  } finally {
    writer.close();
  }
}

Deno.test("ScalarEventWriter + decodeEventFile: a run round-trips", async () => {
  await Deno.mkdir(".cache/report", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".cache/report" });
  try {
    const path = `${dir}/${eventFileName(1000, "test")}`;
    await Deno.writeTextFile(path, "stale contents to be truncated");
    const before = Date.now() / 1000;
    await writeRun(path);
    const events = decodeEventFile(await Deno.readFile(path));
    assert.equal(events.length, 4);
    assert.equal(events[0].fileVersion, "brain.Event:2");
    assert.deepEqual(events[0].scalars, {});
    assert.ok(Math.abs(events[0].wallTime - before) < 60);
    assert.deepEqual(events.slice(1), [
      { wallTime: 1000.5, step: 10, scalars: { loss: Math.fround(0.1), lr: Math.fround(6e-5) } },
      { wallTime: 1001.5, step: 20, scalars: { loss: Math.fround(0.05) } },
      { wallTime: 1002.5, step: 30, scalars: { loss: NaN, "val/miou": Math.fround(0.4) } },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeEventFile: a flipped byte or truncation names record and offset", async () => {
  await Deno.mkdir(".cache/report", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".cache/report" });
  try {
    const path = `${dir}/events.out.tfevents.0.flip`;
    await writeRun(path);
    const good = await Deno.readFile(path);
    // Record offsets from the framing alone: 16 bytes of overhead plus the stated length.
    const offsets: number[] = [];
    for (let at = 0; at < good.length; at += 16 + u32le(good, at)) offsets.push(at);
    assert.equal(offsets.length, 4);

    const payloadFlip = good.slice();
    payloadFlip[offsets[2] + 12 + 3] ^= 0x10;
    assert.throws(
      () => decodeEventFile(payloadFlip),
      new RegExp(`record 2 at byte offset ${offsets[2]}: payload CRC`),
    );
    const lengthFlip = good.slice();
    lengthFlip[offsets[1]] ^= 0x01;
    assert.throws(
      () => decodeEventFile(lengthFlip),
      new RegExp(`record 1 at byte offset ${offsets[1]}: length CRC`),
    );
    const crcFlip = good.slice();
    crcFlip[good.length - 1] ^= 0x80;
    assert.throws(
      () => decodeEventFile(crcFlip),
      new RegExp(`record 3 at byte offset ${offsets[3]}`),
    );
    assert.throws(
      () => decodeEventFile(good.subarray(0, good.length - 3)),
      new RegExp(`record 3 at byte offset ${offsets[3]}: truncated`),
    );
    assert.throws(
      () => decodeEventFile(good.subarray(0, offsets[3] + 5)),
      new RegExp(`record 3 at byte offset ${offsets[3]}: truncated`),
    );
    assert.equal(decodeEventFile(good.subarray(0, offsets[3])).length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeEventFile: unknown fields and non-scalar values are skipped", () => {
  // Event{wall_time 4, step 1, field 9 varint 7, summary{value{tag "img", field 4 bytes}}}
  const payload = Uint8Array.from([
    ...[0x09, 0, 0, 0, 0, 0, 0, 0x10, 0x40],
    ...[0x10, 0x01],
    ...[0x48, 0x07],
    ...[0x2a, 0x0b, 0x0a, 0x09, 0x0a, 0x03, ...ascii("img"), 0x22, 0x02, 0xaa, 0xbb],
  ]);
  assert.deepEqual(decodeEventFile(encodeRecord(payload)), [
    { wallTime: 4, step: 1, scalars: {} },
  ]);
});
