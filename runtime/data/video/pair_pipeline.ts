/**
 * The training pipeline of a frame pair: frame t goes through exactly what `applyPipeline` does to
 * a single frame (resize, `cat_max_ratio` crop, flip, normalisation, with the same draws from the
 * sample's stream), and frame t−k and the flow t → t−k go through the same geometry, so the flow
 * stays the correspondence between the two processed frames:
 *
 * - resize: both frames bilinear (one 6-channel image, so the frames cannot diverge); the flow and
 *   its validity nearest (cv2 `INTER_NEAREST`, as the label: interpolating a flow across a motion
 *   boundary would invent displacements no point has), each displacement scaled by the axis'
 *   factor;
 * - crop: the same box cut from both frames and the flow; a displacement is a difference of
 *   positions, so a shared crop leaves it unchanged; padding is invalid flow;
 * - flip: both frames and the flow mirrored, `dx` negated (x ↦ W−1−x maps x + dx to
 *   (W−1−x) − dx).
 *
 * @module
 */
import type { RandomStream } from "../../random.ts";
import {
  crop,
  type Example,
  keepRatioSize,
  pad,
  randomCropBox,
  resize,
} from "../transforms/geometry.ts";
import { normalize } from "../transforms/photometric.ts";
import type { PipelineSpec, Processed } from "../transforms/pipeline.ts";
import type { FramePair } from "./pairs.ts";

/** A processed pair: frame t as `applyPipeline` gives it, frame t−k and the flow beside it. */
export interface ProcessedPair extends Processed {
  /** Frame t−k, normalised RGB, H×W×3. */
  previous: Float32Array;
  /** Backward flow t → t−k in pixels of the processed frames, H×W×2 (present with the input's). */
  flow?: Float32Array;
  /** 1 where `flow` is valid, H×W. */
  flowValid?: Uint8Array;
}

/** A flow field and its validity at one size. */
interface FlowPlanes {
  flow: Float32Array;
  valid: Uint8Array;
  width: number;
  height: number;
}

/** Nearest resize of a flow (cv2 `INTER_NEAREST` source ⌊dst·scale⌋), displacements rescaled. */
function resizeFlow(f: FlowPlanes, outWidth: number, outHeight: number): FlowPlanes {
  if (f.width === outWidth && f.height === outHeight) return f;
  const flow = new Float32Array(outWidth * outHeight * 2);
  const valid = new Uint8Array(outWidth * outHeight);
  const [sx, sy] = [outWidth / f.width, outHeight / f.height];
  for (let y = 0; y < outHeight; y++) {
    const from = Math.min(Math.floor((y * f.height) / outHeight), f.height - 1);
    for (let x = 0; x < outWidth; x++) {
      const i = from * f.width + Math.min(Math.floor((x * f.width) / outWidth), f.width - 1);
      const o = y * outWidth + x;
      flow[2 * o] = f.flow[2 * i] * sx;
      flow[2 * o + 1] = f.flow[2 * i + 1] * sy;
      valid[o] = f.valid[i];
    }
  }
  return { flow, valid, width: outWidth, height: outHeight };
}

/** The box of a flow, padded to `width × height` with invalid zero flow (as `pad` pads labels). */
function cropFlow(
  f: FlowPlanes,
  box: { x: number; y: number; width: number; height: number },
  width: number,
  height: number,
): FlowPlanes {
  const [w, h] = [Math.max(width, box.width), Math.max(height, box.height)];
  const flow = new Float32Array(w * h * 2);
  const valid = new Uint8Array(w * h);
  for (let y = 0; y < box.height; y++) {
    const src = (box.y + y) * f.width + box.x;
    flow.set(f.flow.subarray(2 * src, 2 * (src + box.width)), 2 * y * w);
    valid.set(f.valid.subarray(src, src + box.width), y * w);
  }
  return { flow, valid, width: w, height: h };
}

/** The flow of the mirrored pair: positions mirrored, `dx` negated. */
function flipFlow(f: FlowPlanes): FlowPlanes {
  const flow = new Float32Array(f.flow.length);
  const valid = new Uint8Array(f.valid.length);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const src = y * f.width + x;
      const dst = y * f.width + (f.width - 1 - x);
      flow[2 * dst] = -f.flow[2 * src];
      flow[2 * dst + 1] = f.flow[2 * src + 1];
      valid[dst] = f.valid[src];
    }
  }
  return { flow, valid, width: f.width, height: f.height };
}

/** Mirrors an interleaved image left–right. */
function flipImage(image: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * channels;
      out.set(image.subarray(src, src + channels), (y * width + (width - 1 - x)) * channels);
    }
  }
  return out;
}

/** Frame t and frame t−k side by side per pixel: one 6-channel image the geometry moves as one. */
function stacked(pair: FramePair): Example {
  const n = pair.width * pair.height;
  if (pair.previous.image.length !== n * 3) {
    throw new Error(`${pair.name}: frame t−k is not the size of frame t`);
  }
  const image = new Uint8Array(n * 6);
  for (let i = 0; i < n; i++) {
    image.set(pair.image.subarray(3 * i, 3 * i + 3), 6 * i);
    image.set(pair.previous.image.subarray(3 * i, 3 * i + 3), 6 * i + 3);
  }
  return { image, label: pair.label, width: pair.width, height: pair.height, channels: 6 };
}

/** Channels `[first, first + 3)` of a 6-channel image. */
function frameOf(image: Uint8Array, first: number): Uint8Array {
  const n = image.length / 6;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.set(image.subarray(6 * i + first, 6 * i + first + 3), 3 * i);
  return out;
}

/**
 * Runs `spec` on a pair with the sample's stream, drawing what `applyPipeline` draws in its order
 * (the crop box, then the flip), so frame t is the sample a single-frame pipeline would give.
 */
export function applyPairPipeline(
  pair: FramePair,
  spec: PipelineSpec,
  rng: RandomStream,
): ProcessedPair {
  let x = stacked(pair);
  let f: FlowPlanes | undefined = pair.flow === undefined ? undefined : {
    flow: pair.flow,
    valid: pair.flowValid ?? new Uint8Array(pair.width * pair.height).fill(1),
    width: pair.width,
    height: pair.height,
  };
  const size = spec.resize.kind === "keepRatio"
    ? keepRatioSize(x.width, x.height, spec.resize.maxLong, spec.resize.maxShort)
    : spec.resize.kind === "exact"
    ? [spec.resize.width, spec.resize.height]
    : [x.width, x.height];
  x = resize(x, size[0], size[1]);
  if (f !== undefined) f = resizeFlow(f, size[0], size[1]);
  const box = randomCropBox(x, spec.crop.width, spec.crop.height, spec.catMaxRatio, rng);
  x = pad(crop(x, box), spec.crop.width, spec.crop.height);
  if (f !== undefined) f = cropFlow(f, box, spec.crop.width, spec.crop.height);
  if (rng.next() < spec.flip) {
    x = { ...x, image: flipImage(x.image, x.width, x.height, 6) };
    if (x.label !== undefined) x.label = flipImage(x.label, x.width, x.height, 1);
    if (f !== undefined) f = flipFlow(f);
  }
  return {
    image: normalize(frameOf(x.image, 0)),
    previous: normalize(frameOf(x.image, 3)),
    label: x.label,
    width: x.width,
    height: x.height,
    ...(f === undefined ? {} : { flow: f.flow, flowValid: f.valid }),
  };
}
