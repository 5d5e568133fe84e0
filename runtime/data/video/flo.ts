/**
 * Middlebury `.flo` optical-flow files, the format FlowNet2 writes and the TPS / DA-VSN-era video
 * adaptation code reads: little-endian float32 magic 202021.25 (the bytes `PIEH`), int32 width,
 * int32 height, then width × height (u, v) float32 pairs, row-major. u is the horizontal and v the
 * vertical displacement in pixels; UDA-Lab stores backward flow t → t−k in them
 * (`runtime/data/synthcity/flow.ts` states the convention). Middlebury marks unknown flow with
 * components above 1e9; {@linkcode floValidity} turns those (and non-finite values) into a mask.
 *
 * @module
 */
import { writeFileAtomic } from "../../io/atomic.ts";

/** The magic number every `.flo` file starts with (`PIEH` read as a little-endian float32). */
export const FLO_MAGIC = 202021.25;
/** What `.flo` writers store for unknown flow (Middlebury's `UNKNOWN_FLOW`). */
export const FLO_UNKNOWN = 1e10;
/** Components above this magnitude are unknown (Middlebury's `UNKNOWN_FLOW_THRESH`). */
export const FLO_UNKNOWN_THRESHOLD = 1e9;

const HEADER_BYTES = 12;

/** A decoded flow field: (u, v) interleaved, H×W×2. */
export interface FlowField {
  /** Displacements (u, v) in pixels, interleaved. */
  flow: Float32Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Encodes a flow field as `.flo` bytes. Where `valid` is given and 0, both components are written
 * as {@linkcode FLO_UNKNOWN}, so that the mask survives the file.
 */
export function encodeFlo(field: FlowField, valid?: Uint8Array): Uint8Array {
  const { flow, width, height } = field;
  if (flow.length !== width * height * 2) {
    throw new RangeError(
      `encodeFlo: a ${width}×${height} flow has ${
        width * height * 2
      } components, got ${flow.length}.`,
    );
  }
  const bytes = new Uint8Array(HEADER_BYTES + flow.length * 4);
  const view = new DataView(bytes.buffer);
  view.setFloat32(0, FLO_MAGIC, true);
  view.setInt32(4, width, true);
  view.setInt32(8, height, true);
  for (let i = 0; i < flow.length; i++) {
    const known = valid === undefined || valid[i >> 1] !== 0;
    view.setFloat32(HEADER_BYTES + 4 * i, known ? flow[i] : FLO_UNKNOWN, true);
  }
  return bytes;
}

function badFlo(file: string, problem: string): Error {
  return new Error(
    `${file}: not a readable Middlebury .flo flow file (${problem}). A .flo file starts with the ` +
      `float32 magic ${FLO_MAGIC} ('PIEH'), then int32 width and height, then width×height (u, v) ` +
      `float32 pairs, little-endian. Write the flow with FlowNet2's or flowiz's writeFlow (or ` +
      `UDA-Lab's writeFlo); a KITTI-style 16-bit PNG flow or a .npy array must be converted first.`,
  );
}

/** Decodes `.flo` bytes; `file` only names the file in errors. */
export function decodeFlo(bytes: Uint8Array, file: string): FlowField {
  if (bytes.length < HEADER_BYTES) {
    throw badFlo(file, `${bytes.length} bytes, shorter than the 12-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getFloat32(0, true);
  if (magic !== FLO_MAGIC) throw badFlo(file, `magic ${magic}, expected ${FLO_MAGIC}`);
  const width = view.getInt32(4, true);
  const height = view.getInt32(8, true);
  if (width <= 0 || height <= 0) throw badFlo(file, `size ${width}×${height}`);
  const expected = HEADER_BYTES + width * height * 8;
  if (bytes.length !== expected) {
    throw badFlo(
      file,
      `${bytes.length} bytes where a ${width}×${height} flow has ${expected}; truncated?`,
    );
  }
  const flow = new Float32Array(width * height * 2);
  for (let i = 0; i < flow.length; i++) flow[i] = view.getFloat32(HEADER_BYTES + 4 * i, true);
  return { flow, width, height };
}

/** Reads a `.flo` file. */
export async function readFlo(file: string): Promise<FlowField> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as Error).message}).`);
  }
  return decodeFlo(bytes, file);
}

/** Writes a `.flo` file atomically (invalid pixels as unknown when `valid` is given). */
export async function writeFlo(file: string, field: FlowField, valid?: Uint8Array): Promise<void> {
  await writeFileAtomic(file, encodeFlo(field, valid));
}

/** 1 where both components are finite and known (|u|, |v| ≤ 1e9), per pixel. */
export function floValidity(flow: Float32Array): Uint8Array {
  const valid = new Uint8Array(flow.length >> 1);
  for (let i = 0; i < valid.length; i++) {
    const u = flow[2 * i];
    const v = flow[2 * i + 1];
    valid[i] = Math.abs(u) <= FLO_UNKNOWN_THRESHOLD && Math.abs(v) <= FLO_UNKNOWN_THRESHOLD ? 1 : 0;
  }
  return valid;
}
