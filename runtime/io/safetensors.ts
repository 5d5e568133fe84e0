/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}` (padded
 * with spaces to 8-byte alignment), then the raw little-endian tensor bytes, each tensor's
 * `data_offsets` relative to the end of the header. The format of Hugging Face's `safetensors`
 * library, readable from PyTorch with `safetensors.torch.load_file`.
 *
 * TensorFlow.js has only float32/int32 (and bool), so the reader converts: F16, BF16 and F64 →
 * float32; I64 → int32 (values outside int32 are an error, never wrapped); I16/I8 → int32;
 * U8/BOOL stay bytes (`uint8`). The writer stores float32 as F32, int32 as I32, uint8 as U8.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";

/** A tensor as stored: typed data and its shape. */
export interface StoredTensor {
  /** `float32`, `int32` or `uint8` after conversion (see the module note). */
  dtype: "float32" | "int32" | "uint8";
  /** Dimensions. */
  shape: number[];
  /** Row-major values. */
  data: Float32Array | Int32Array | Uint8Array;
}

/** The contents of a safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in file order. */
  tensors: Map<string, StoredTensor>;
  /** The free-form string metadata. */
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

// The reference implementation (huggingface/safetensors, `MAX_HEADER_SIZE`) refuses larger headers.
const MAX_HEADER_BYTES = 100_000_000;

// Typed arrays use the platform's byte order; the file is little-endian. On the (rare) big-endian
// platform every value goes through a DataView instead.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decodeTensor(
  name: string,
  dtype: string,
  bytes: Uint8Array,
  count: number,
  file: string,
): StoredTensor["data"] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32": {
      // slice() copies into a fresh, aligned buffer: the fast path for multi-GB checkpoints.
      if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case "I32": {
      if (LITTLE_ENDIAN) return new Int32Array(bytes.slice().buffer);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(8 * i, true);
        if (value > 2147483647n || value < -2147483648n) {
          throw new Error(
            `${file}: tensor '${name}' holds the int64 value ${value} at index ${i}, outside ` +
              `int32's range, and TensorFlow.js has no int64. Store it as int32 or float32.`,
          );
        }
        out[i] = Number(value);
      }
      return out;
    }
    case "I16":
    case "I8": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] = dtype === "I16" ? view.getInt16(2 * i, true) : view.getInt8(i);
      }
      return out;
    }
    case "U8":
    case "BOOL":
      return bytes.slice();
  }
  throw new Error(`${file}: tensor '${name}' has unsupported dtype '${dtype}'`);
}

/** Parses safetensors bytes, validating all of it; `file` names the source in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const fail = (why: string): never => {
    throw new Error(
      `${file}: not a valid safetensors file: ${why}. Re-export it with ` +
        `safetensors.torch.save_file (docs/weights.md).`,
    );
  };
  if (bytes.byteLength < 8) {
    fail(`${bytes.byteLength} bytes is shorter than the 8-byte header length`);
  }
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (headerLength > bytes.byteLength - 8) {
    fail(
      `the header claims ${headerLength} bytes but the file has ${bytes.byteLength - 8} after it`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`the header claims ${headerLength} bytes, more than the format's ${MAX_HEADER_BYTES}`);
  }
  if (headerLength < 2 || bytes[8] !== 0x7b) fail("the header does not start with '{'");
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    return fail(`the JSON header does not parse (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata = header.__metadata__ ?? {};
  if (
    metadata === null || typeof metadata !== "object" || Array.isArray(metadata) ||
    !Object.values(metadata).every((v) => typeof v === "string")
  ) {
    fail(`'__metadata__' must map strings to strings, got ${JSON.stringify(metadata)}`);
  }
  type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
  const entries: [string, Entry][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info?.dtype !== "string" || !(info.dtype in BYTES)) {
      fail(
        `tensor '${name}' has dtype ${JSON.stringify(info?.dtype)}; supported are ${
          Object.keys(BYTES).join(", ")
        }`,
      );
    }
    if (
      !Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      fail(`tensor '${name}' has shape ${JSON.stringify(info.shape)}`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}`);
    }
    entries.push([name, info as Entry]);
  }
  // The data must be covered exactly once, in order, with no gaps or overlaps.
  const sorted = [...entries].sort((a, b) =>
    a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]
  );
  let cursor = 0;
  for (const [name, info] of sorted) {
    const [begin, end] = info.data_offsets;
    if (begin !== cursor) {
      fail(
        `tensor '${name}' starts at byte ${begin}, expected ${cursor} (overlapping or gapped offsets)`,
      );
    }
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[info.dtype]) {
      fail(
        `tensor '${name}' has ${
          end - begin
        } bytes but shape [${info.shape}] of ${info.dtype} needs ${count * BYTES[info.dtype]}`,
      );
    }
    if (end > dataLength) {
      fail(
        `tensor '${name}' ends at byte ${end} but the file has ${dataLength} data bytes (truncated)`,
      );
    }
    cursor = end;
  }
  if (cursor !== dataLength) {
    fail(`${dataLength - cursor} bytes after the last tensor belong to none`);
  }
  const tensors = new Map<string, StoredTensor>();
  for (const [name, info] of entries) {
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    const data = decodeTensor(
      name,
      info.dtype,
      bytes.subarray(dataStart + begin, dataStart + end),
      count,
      file,
    );
    const dtype = data instanceof Float32Array
      ? "float32"
      : data instanceof Int32Array
      ? "int32"
      : "uint8";
    tensors.set(name, { dtype, shape: [...info.shape], data });
  }
  return { tensors, metadata: { ...(metadata as Record<string, string>) } };
}

/** Reads a safetensors file. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot be read (${(error as Error).message}).`);
  }
  return parseSafetensors(bytes, path);
}

const WRITE_DTYPES = {
  float32: { code: "F32", bytes: 4, array: Float32Array },
  int32: { code: "I32", bytes: 4, array: Int32Array },
  uint8: { code: "U8", bytes: 1, array: Uint8Array },
} as const;

/**
 * Serialises tensors (float32 → F32, int32 → I32, uint8 → U8) in the given order, the header
 * padded with spaces to a multiple of 8 bytes as the reference writer does. Throws naming the
 * tensor when a name repeats, is `__metadata__`, or the data does not fit the shape.
 */
export function serializeSafetensors(
  tensors: Iterable<[string, StoredTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__" || Object.hasOwn(header, name)) {
      throw new Error(`safetensors writer: tensor name '${name}' is reserved or repeated`);
    }
    const kind = WRITE_DTYPES[t.dtype];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (kind === undefined || !(t.data instanceof kind.array) || t.data.length !== count) {
      throw new Error(
        `safetensors writer: tensor '${name}' declares ${t.dtype} [${t.shape}] (${count} values) ` +
          `but holds ${t.data.constructor.name}(${t.data.length})`,
      );
    }
    let bytes: Uint8Array;
    if (LITTLE_ENDIAN || kind.bytes === 1) {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else {
      bytes = new Uint8Array(count * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < count; i++) {
        if (t.dtype === "float32") view.setFloat32(4 * i, t.data[i], true);
        else view.setInt32(4 * i, t.data[i], true);
      }
    }
    header[name] = {
      dtype: kind.code,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  const encoder = new TextEncoder();
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (encoder.encode(json).length % 8)) % 8);
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

/** Writes a safetensors file atomically (temporary file beside it, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<[string, StoredTensor]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
