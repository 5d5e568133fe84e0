import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeFlo,
  encodeFlo,
  FLO_MAGIC,
  FLO_UNKNOWN,
  floValidity,
  readFlo,
  writeFlo,
} from "../../runtime/data/video/flo.ts";
import { videoTempDir } from "./helpers.ts";

const FIELD = {
  width: 3,
  height: 2,
  flow: Float32Array.from([0, 0, 1.5, -2.25, -0.125, 3, 100.5, -7, 1e-3, 2e-3, -4096, 0.75]),
};

Deno.test(".flo: the header and payload are Middlebury's, byte for byte", () => {
  const bytes = encodeFlo(FIELD);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 12 + 3 * 2 * 8);
  assert.equal(new TextDecoder().decode(bytes.slice(0, 4)), "PIEH");
  assert.equal(view.getFloat32(0, true), FLO_MAGIC);
  assert.equal(view.getInt32(4, true), 3);
  assert.equal(view.getInt32(8, true), 2);
  // Row-major, (u, v) interleaved: pixel (1, 0) holds u = 1.5, v = −2.25.
  assert.equal(view.getFloat32(12 + 8, true), 1.5);
  assert.equal(view.getFloat32(12 + 12, true), -2.25);
});

Deno.test(".flo: a file round-trips exactly, unknown pixels stay unknown", async () => {
  const dir = await videoTempDir();
  try {
    const file = join(dir, "pair.flo");
    const valid = Uint8Array.from([1, 0, 1, 1, 1, 0]);
    await writeFlo(file, FIELD, valid);
    const back = await readFlo(file);
    assert.equal(back.width, 3);
    assert.equal(back.height, 2);
    assert.deepEqual(floValidity(back.flow), valid);
    for (let i = 0; i < 6; i++) {
      if (!valid[i]) {
        assert.deepEqual([back.flow[2 * i], back.flow[2 * i + 1]], [FLO_UNKNOWN, FLO_UNKNOWN]);
        continue;
      }
      assert.equal(back.flow[2 * i], FIELD.flow[2 * i]);
      assert.equal(back.flow[2 * i + 1], FIELD.flow[2 * i + 1]);
    }
    const plain = decodeFlo(encodeFlo(FIELD), "mem.flo");
    assert.deepEqual(plain.flow, FIELD.flow);
    assert.deepEqual([...floValidity(plain.flow)], [1, 1, 1, 1, 1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(".flo: a bad magic, a truncated file and a bad size are one-paragraph errors with the fix", async () => {
  const dir = await videoTempDir();
  try {
    const file = join(dir, "flow.png.flo");
    const bytes = encodeFlo(FIELD);
    new DataView(bytes.buffer).setFloat32(0, 1.25, true);
    await Deno.writeFile(file, bytes);
    const error = await readFlo(file).then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof Error);
    assert.ok(error.message.startsWith(`${file}: not a readable Middlebury .flo`), error.message);
    assert.match(error.message, /magic 1\.25, expected 202021\.25/);
    assert.match(error.message, /writeFlow/);
    assert.ok(!error.message.includes("\n"), "one paragraph");
    assert.throws(
      () => decodeFlo(encodeFlo(FIELD).slice(0, 40), "cut.flo"),
      /cut\.flo: .*40 bytes where a 3×2 flow has 60; truncated/,
    );
    const zero = encodeFlo(FIELD);
    new DataView(zero.buffer).setInt32(4, 0, true);
    assert.throws(() => decodeFlo(zero, "z.flo"), /z\.flo: .*size 0×2/);
    assert.throws(
      () => decodeFlo(new Uint8Array(5), "tiny.flo"),
      /shorter than the 12-byte header/,
    );
    await assert.rejects(readFlo(join(dir, "absent.flo")), /absent\.flo: cannot be read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(".flo: NaN and components above 1e9 are invalid", () => {
  const flow = Float32Array.from([0, 0, NaN, 0, 2e9, 0, 0, -2e9, 1e9, -1e9]);
  assert.deepEqual([...floValidity(flow)], [1, 0, 0, 0, 1]);
});
