/**
 * TensorBoard event files for scalar summaries, written without tfjs-node so that any run can be
 * opened with `tensorboard --logdir runs/`.
 *
 * An event file is a sequence of TFRecord records,
 * `u64 length (LE) | u32 masked_crc32c(length bytes) | payload | u32 masked_crc32c(payload)`,
 * each payload a protobuf `tensorflow.Event`. The first record of a file carries only
 * `file_version = "brain.Event:2"`; TensorBoard uses it to recognise the format. Scalars go in
 * `Summary.Value.simple_value`, which TensorBoard's data-compat layer shows as the scalars
 * plugin's data. The protobuf subset is encoded by hand: five fields do not justify a dependency.
 *
 * @module
 */

/** One event read back from an event file. */
export interface DecodedEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  /** The training step (0 when the record has none). */
  step: number;
  /** The `file_version` string, present on the first record of a file. */
  fileVersion?: string;
  /** `simple_value` summaries by tag (stored as float32, so read back rounded to float32). */
  scalars: Record<string, number>;
}

/** The version string TensorBoard expects in the first record of every event file. */
export const FILE_VERSION = "brain.Event:2";

// CRC-32C (Castagnoli), reflected polynomial; TFRecord framing uses it rather than zlib's CRC-32.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli) of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The TFRecord "masked" CRC-32C: `((c >>> 15) | (c << 17)) + 0xa282ead8` modulo 2^32. TFRecord
 * masks because a CRC of data that itself embeds CRCs is weak.
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames `payload` as one TFRecord record (length, its masked CRC, payload, its masked CRC). */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(payload.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(payload, 12);
  view.setUint32(12 + payload.length, maskedCrc32c(payload), true);
  return out;
}

// ---- protobuf encoding: just the wire types the Event subset needs ----

/** Growable byte buffer with the protobuf primitives. */
class ProtoWriter {
  private bytes: number[] = [];

  varint(value: bigint): this {
    // int64 fields encode negatives as their 64-bit two's complement (ten bytes).
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint(BigInt((field << 3) | wireType));
  }

  double(field: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.tag(field, 1).bytes.push(...b);
    return this;
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.tag(field, 5).bytes.push(...b);
    return this;
  }

  int64(field: number, value: number): this {
    return this.tag(field, 0).varint(BigInt(value));
  }

  lengthDelimited(field: number, payload: Uint8Array): this {
    this.tag(field, 2).varint(BigInt(payload.length)).bytes.push(...payload);
    return this;
  }

  string(field: number, value: string): this {
    return this.lengthDelimited(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step)) throw new Error(`event step must be an integer, got ${step}`);
}

/** The framed first record of an event file: `wall_time` and `file_version` only. */
export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return encodeRecord(new ProtoWriter().double(1, wallTime).string(3, FILE_VERSION).finish());
}

/**
 * One framed record holding a `Summary` with one `simple_value` per entry of `values`, in sorted
 * tag order so the bytes do not depend on object insertion order. NaN and ±Inf are kept: they
 * are valid floats and TensorBoard plots them (a diverged loss should be visible, not hidden).
 */
export function encodeScalarsEvent(
  step: number,
  wallTime: number,
  values: Readonly<Record<string, number>>,
): Uint8Array {
  checkStep(step);
  const summary = new ProtoWriter();
  for (const tag of Object.keys(values).sort()) {
    summary.lengthDelimited(1, new ProtoWriter().string(1, tag).float(2, values[tag]).finish());
  }
  const event = new ProtoWriter().double(1, wallTime).int64(2, step)
    .lengthDelimited(5, summary.finish());
  return encodeRecord(event.finish());
}

/**
 * The file name TensorBoard looks for (it only reads names containing `tfevents`):
 * `events.out.tfevents.<integer seconds>.<host>`.
 */
export function eventFileName(wallTime: number, host: string): string {
  return `events.out.tfevents.${Math.floor(wallTime)}.${host}`;
}

// ---- decoding ----

/** Reads protobuf fields from one message; throws on anything running past its end. */
class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) throw new Error("truncated varint");
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, result);
    }
    throw new Error("varint longer than 10 bytes");
  }

  private take(n: number): number {
    if (this.pos + n > this.bytes.length) throw new Error("field runs past the end of its message");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  double(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  float(): number {
    return this.view.getFloat32(this.take(4), true);
  }

  lengthDelimited(): Uint8Array {
    const n = Number(this.varint());
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }

  /** Skips a field of an unknown number, so events written by other tools still decode. */
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.lengthDelimited();
    else if (wireType === 5) this.take(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function decodeValue(bytes: Uint8Array, scalars: Record<string, number>): void {
  const r = new ProtoReader(bytes);
  let tag: string | undefined;
  let value: number | undefined;
  while (!r.done) {
    const key = Number(r.varint());
    if (key === ((1 << 3) | 2)) tag = new TextDecoder().decode(r.lengthDelimited());
    else if (key === ((2 << 3) | 5)) value = r.float();
    else r.skip(key & 7);
  }
  // Values holding images, histograms or tensors have no simple_value; they are not scalars.
  if (tag !== undefined && value !== undefined) scalars[tag] = value;
}

function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const r = new ProtoReader(bytes);
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: {} };
  while (!r.done) {
    const key = Number(r.varint());
    if (key === ((1 << 3) | 1)) event.wallTime = r.double();
    else if (key === ((2 << 3) | 0)) event.step = Number(BigInt.asIntN(64, r.varint()));
    else if (key === ((3 << 3) | 2)) {
      event.fileVersion = new TextDecoder().decode(r.lengthDelimited());
    } else if (key === ((5 << 3) | 2)) {
      const summary = new ProtoReader(r.lengthDelimited());
      while (!summary.done) {
        const k = Number(summary.varint());
        if (k === ((1 << 3) | 2)) decodeValue(summary.lengthDelimited(), event.scalars);
        else summary.skip(k & 7);
      }
    } else r.skip(key & 7);
  }
  return event;
}

/**
 * Decodes every record of an event file, checking both CRCs of each. Throws an Error naming the
 * record index and its byte offset on a bad CRC, a truncated record or an undecodable payload:
 * a half-written last record (a run killed mid-write) is reported rather than silently dropped,
 * and the caller decides whether to tolerate it.
 */
export function decodeEventFile(bytes: Uint8Array): DecodedEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: DecodedEvent[] = [];
  let offset = 0;
  for (let index = 0; offset < bytes.length; index++) {
    const fail = (why: string): never => {
      throw new Error(`event file record ${index} at byte offset ${offset}: ${why}`);
    };
    if (offset + 12 > bytes.length) fail("truncated record header");
    const length = view.getBigUint64(offset, true);
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(bytes.subarray(offset, offset + 8))) {
      fail("length CRC mismatch");
    }
    const end = offset + 12 + Number(length) + 4;
    if (length > BigInt(bytes.length) || end > bytes.length) fail("truncated record");
    const payload = bytes.subarray(offset + 12, end - 4);
    if (view.getUint32(end - 4, true) !== maskedCrc32c(payload)) fail("payload CRC mismatch");
    try {
      events.push(decodeEvent(payload));
    } catch (error) {
      fail(`bad Event payload (${(error as Error).message})`);
    }
    offset = end;
  }
  return events;
}

/**
 * Appends scalar events to one TensorBoard event file. Each `write` goes straight to the file
 * (Deno file handles are unbuffered), so TensorBoard sees a running job's progress and a crash
 * loses at most the record being written.
 */
export class ScalarEventWriter {
  // Writes are chained so that calls made without awaiting never interleave their bytes.
  private pending: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly file: Deno.FsFile, readonly path: string) {}

  /** Creates (or truncates) `path`, writes the `file_version` record and opens it for appends. */
  static async create(path: string): Promise<ScalarEventWriter> {
    await Deno.writeFile(path, encodeFileVersionEvent(Date.now() / 1000));
    const file = await Deno.open(path, { append: true });
    return new ScalarEventWriter(file, path);
  }

  /** Appends one record with `values` at `step`; resolves once all its bytes are written. */
  write(step: number, wallTime: number, values: Record<string, number>): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`event file ${this.path} is closed`));
    const record = encodeScalarsEvent(step, wallTime, values);
    const next = this.pending.then(async () => {
      // file.write may write fewer bytes than asked; loop until the record is complete.
      for (let done = 0; done < record.length;) {
        done += await this.file.write(record.subarray(done));
      }
    });
    // A failed write must not wedge every later one behind a rejected promise.
    this.pending = next.catch(() => {});
    return next;
  }

  /** Closes the file. Await the last `write` first: writes still queued then would fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
