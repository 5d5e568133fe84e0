/**
 * HRDA's multi-resolution segmentor (`shared/reference/daformer_hrda_mic.md` §6): one encoder
 * and one decode head see each crop twice — downscaled as the context crop and, inside a detail
 * box, at full resolution — and a scale-attention head on the context features fuses the two.
 *
 * - Training forward (§6.1–6.2): a new detail box per call, shared by the batch; attention masked
 *   to the box; outputs the fused logits and the weighted parts the cross-entropy trains
 *   (`(1 − λ_d − λ_l)` fused, `λ_d` detail on its box, `λ_l` context).
 * - Evaluation-mode forward, the teacher's pseudo-labels (§6.3): detail windows slide over the
 *   whole crop (overlapping at half a window, or tiled), batched, averaged where they overlap.
 * - `predict` (§6.4): windows of the test size slide over the image, each predicted as above and
 *   upsampled to full resolution, averaged where they overlap.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ForwardMode } from "./layers.ts";
import type { ModelOutputs, Segmentor, SupervisedPart } from "./segmentor.ts";
import { type HeadConfig, headFlops } from "./heads.ts";
import { mitStageSizes } from "./mit.ts";
import { initScaleAttention, scaleAttention } from "./scale_attention.ts";
import {
  averageWindows,
  type Box,
  boxMask,
  contextCrop,
  coverage,
  cutWindows,
  fuseScales,
  maxEntropyWindow,
  normalisedEntropy,
  placeOnCanvas,
  sampleDetailBox,
  scaleBox,
  slidingWindows,
} from "./multi_resolution.ts";

/** HRDA's settings in pixels of the training crop (from the resolution block's fields). */
export interface MultiResolutionConfig {
  /** Context scale s_c (0.5). */
  contextScale: number;
  /** Detail crop `[height, width]` in full-resolution pixels. */
  detailCrop: readonly [number, number];
  /** Detail-box offsets are multiples of this. */
  cropDivisible: number;
  /** λ_d. */
  detailLossWeight: number;
  /** λ_l. */
  contextLossWeight: number;
  /** Learned per class, learned single, or fixed. */
  attention: "classwise" | "single" | "fixed";
  /** The attention when fixed. */
  fixedAttention: number;
  /** Zero the attention outside the detail box in training. */
  maskAttention: boolean;
  /** Weight the context by `1 − a` after upsampling both (CLUDA's released head), not before. */
  fuseAfterUpsampling?: boolean;
  /** The teacher's detail windows: overlapping (stride half a window) or tiled. */
  pseudoLabelWindows: "overlapping" | "tiled";
  /** Evaluation windows `[height, width]`. */
  testWindow: readonly [number, number];
  /** Evaluation stride `[y, x]`. */
  testStride: readonly [number, number];
}

/** The decode head's prefix inside HRDA's head (`decode_head.head.*`, §6.2). */
export const HRDA_HEAD_PREFIX = "decode_head.head";
/** The scale-attention head's prefix (`decode_head.scale_attention.*`). */
export const SCALE_ATTENTION_PREFIX = "decode_head.scale_attention";

/** What HRDA's passes report besides the fused `logits`. */
export interface MultiResolutionOutputs extends ModelOutputs {
  /** The fused prediction at stride 4 of the crop. */
  logits: tf.Tensor4D;
  /** The context prediction, stride 4 of the context crop. */
  contextLogits: tf.Tensor4D;
  /** The detail prediction: of the detail box (training) or of the whole crop (windows). */
  detailLogits: tf.Tensor4D;
  /** The scale attention at the context's grid. */
  attention: tf.Tensor4D;
}

/**
 * Which prediction `predict` returns, named as the reference's `--hrda-out`: `fused`, `lr` (the
 * context alone: attention fixed at 0) or `hr` (the detail windows alone: attention fixed at 1).
 */
export type HrdaOutput = "fused" | "lr" | "hr";

/** The predictions `predict` can return, the default first. */
export const HRDA_OUTPUTS: readonly HrdaOutput[] = ["fused", "lr", "hr"];

/** The network: forward passes, inference and the encoder on the context crop. */
export interface MultiResolutionSegmentor {
  /** Training forward with a detail box, or (not training) the sliding-window prediction. */
  forward(image: tf.Tensor4D, mode: ForwardMode): MultiResolutionOutputs;
  /** Sliding-window multi-resolution inference at full resolution (NHWC logits). */
  predict(image: tf.Tensor4D, output?: HrdaOutput): tf.Tensor4D;
  /** The scale attention over the image (mean over classes), as `predict` slides it. */
  attention(image: tf.Tensor4D): tf.Tensor4D;
  /** The encoder on the context crop: the features the feature distance compares (§4). */
  encode(image: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[];
}

/** The scale-attention head's shape: the decoder's, with 1 or one output per class. */
export function attentionHeadConfig(head: HeadConfig, config: MultiResolutionConfig): HeadConfig {
  return {
    ...head,
    numClasses: config.attention === "single" ? 1 : head.numClasses,
    prefix: SCALE_ATTENTION_PREFIX,
  };
}

/** Adds the scale-attention head to `model`'s parameters (none when the attention is fixed). */
export function initMultiResolution(
  model: Segmentor,
  config: MultiResolutionConfig,
  rng: RandomStream,
): void {
  if (config.attention === "fixed") return;
  initScaleAttention(
    model.params,
    rng.fork("scale_attention"),
    attentionHeadConfig(model.head, config),
  );
}

/** Wraps a segmentor (whose head is named `decode_head.head`) as HRDA. */
export function multiResolutionSegmentor(
  model: Segmentor,
  config: MultiResolutionConfig,
): MultiResolutionSegmentor {
  const scale = config.contextScale;
  const attentionConfig = attentionHeadConfig(model.head, config);
  const attentionOf = (features: tf.Tensor4D[], mode: ForwardMode, output: HrdaOutput) => {
    const [n, h, w] = features[0].shape;
    if (output !== "fused") return tf.fill([n, h, w, 1], output === "hr" ? 1 : 0);
    if (config.attention === "fixed") return tf.fill([n, h, w, 1], config.fixedAttention);
    return scaleAttention(model.params, attentionConfig, features, mode);
  };
  const fork = (mode: ForwardMode, label: string): ForwardMode => ({
    ...mode,
    rng: mode.rng?.fork(label),
  });

  /**
   * CLUDA's detail box (§5.6 of pipa_cluda.md): of the overlapping windows the teacher slides
   * (stride half a window), the one where the context prediction's normalised entropy, averaged
   * over the batch, is highest. The released code picks one box per image; HRDA's pass shares one
   * box across the batch, so the batch's mean map chooses it.
   */
  function maxEntropyBox(contextLogits: tf.Tensor4D, size: readonly [number, number]): Box {
    const windows = slidingWindows(
      size,
      config.detailCrop,
      config.detailCrop.map((d) => d / 2) as [number, number],
    );
    const cell = size[0] / contextLogits.shape[1];
    const map = tf.tidy(() => tf.mean(normalisedEntropy(contextLogits), 0));
    const entropy = map.dataSync() as Float32Array;
    map.dispose();
    const grid = [contextLogits.shape[1], contextLogits.shape[2]] as const;
    return windows[maxEntropyWindow(entropy, grid, windows.map((b) => scaleBox(b, cell)))];
  }

  function train(image: tf.Tensor4D, mode: ForwardMode): MultiResolutionOutputs {
    const [, height, width] = image.shape;
    const context = model.forward(contextCrop(image, scale), fork(mode, "context"));
    const box = mode.detailBox === "maxEntropy"
      ? maxEntropyBox(context.logits, [height, width])
      : sampleDetailBox(
        mode.rng!.fork("detail box"),
        [height, width],
        config.detailCrop,
        config.cropDivisible,
      );
    const [top, left, h, w] = box;
    const detail = model.forward(
      tf.slice(image, [0, top, left, 0], [-1, h, w, -1]),
      fork(mode, "detail"),
    );
    let attention = attentionOf(context.features, fork(mode, "attention"), "fused") as tf.Tensor4D;
    const grid = [context.logits.shape[1], context.logits.shape[2]] as const;
    // Output stride 4 of the context: one cell is 4 / s_c pixels of the crop.
    if (config.maskAttention) {
      attention = tf.mul(attention, boxMask(grid, scaleBox(box, 4 / scale)));
    }
    const canvas = placeOnCanvas(detail.logits, [height / 4, width / 4], scaleBox(box, 4));
    const fused = fuseScales(context.logits, attention, canvas, config.fuseAfterUpsampling);
    const { detailLossWeight: detailWeight, contextLossWeight: contextWeight } = config;
    const supervision: SupervisedPart[] = [
      { logits: fused, weight: 1 - detailWeight - contextWeight },
      { logits: detail.logits, weight: detailWeight, box },
    ];
    if (contextWeight > 0) supervision.push({ logits: context.logits, weight: contextWeight });
    return {
      logits: fused,
      features: context.features,
      embedding: context.embedding,
      contextLogits: context.logits,
      detailLogits: detail.logits,
      attention,
      supervision,
      detail: { features: detail.features, box },
      // The detail crop's fused decoder features (CLUDA's HR branch).
      detailEmbedding: detail.embedding,
    };
  }

  /** §6.3: the crop's context plus detail windows over all of it, fused. */
  function slide(
    image: tf.Tensor4D,
    mode: ForwardMode,
    output: HrdaOutput = "fused",
  ): MultiResolutionOutputs {
    const [, height, width] = image.shape;
    const context = model.forward(contextCrop(image, scale), fork(mode, "context"));
    const stride = config.pseudoLabelWindows === "overlapping"
      ? config.detailCrop.map((d) => d / 2) as [number, number]
      : config.detailCrop;
    const windows = slidingWindows([height, width], config.detailCrop, stride);
    const windowLogits = model.forward(cutWindows(image, windows), fork(mode, "detail")).logits;
    const detail = averageWindows(
      windowLogits,
      windows.map((b) => scaleBox(b, 4)),
      [height / 4, width / 4],
    );
    const attention = attentionOf(context.features, fork(mode, "attention"), output) as tf.Tensor4D;
    return {
      logits: fuseScales(context.logits, attention, detail, config.fuseAfterUpsampling),
      features: context.features,
      embedding: context.embedding,
      contextLogits: context.logits,
      detailLogits: detail,
      attention,
    };
  }

  const evaluationMode: ForwardMode = { training: false };

  /** §6.4: `predictWindow` on test windows, upsampled to full resolution, averaged. */
  function overTestWindows(
    image: tf.Tensor4D,
    predictWindow: (windows: tf.Tensor4D) => tf.Tensor4D,
  ): tf.Tensor4D {
    const [, height, width] = image.shape;
    const windows = slidingWindows([height, width], config.testWindow, config.testStride);
    const counts = coverage(windows, [height, width]);
    // One test window at a time (for every image of the batch): the reference batches all of
    // them, which on a CPU only multiplies the memory (3 windows × 10 passes per image).
    let sum: tf.Tensor4D | undefined;
    for (const box of windows) {
      const [top, left, wh, ww] = box;
      const placed = tf.tidy(() => {
        const crop = tf.slice(image, [0, top, left, 0], [-1, wh, ww, -1]) as tf.Tensor4D;
        // The reference averages window logits upsampled to full resolution (§6.4).
        const full = tf.image.resizeBilinear(predictWindow(crop), [wh, ww], false, true);
        return placeOnCanvas(full as tf.Tensor4D, [height, width], box);
      });
      if (sum === undefined) sum = placed;
      else {
        const next = tf.add(sum, placed) as tf.Tensor4D;
        tf.dispose([sum, placed]);
        sum = next;
      }
    }
    const averaged = tf.tidy(() => tf.div(sum!, tf.tensor4d(counts, [1, height, width, 1])));
    sum!.dispose();
    return averaged as tf.Tensor4D;
  }

  return {
    forward: (image, mode) => mode.training ? train(image, mode) : slide(image, mode),
    predict: (image, output = "fused") =>
      overTestWindows(image, (x) => slide(x, evaluationMode, output).logits),
    attention: (image) =>
      overTestWindows(
        image,
        (x) => tf.mean(slide(x, evaluationMode).attention, 3, true) as tf.Tensor4D,
      ),
    encode: (image, mode) => model.encode(contextCrop(image, scale), mode),
  };
}

/** Which kind of pass a FLOP count is for. */
export type PassKind = "train" | "eval" | "predict" | "encode";

/** FLOPs of the plain segmentor over `batch` images of `height × width`. */
export type BaseFlops = (batch: number, height: number, width: number) => number;

/**
 * FLOPs of HRDA over `batch` crops of `height × width`: the context and detail passes and the
 * attention head (training); the context, every detail window and the attention head (eval);
 * every test window's eval pass (predict); the encoder on the context crop (encode, counted
 * with a head as an upper bound).
 */
export function multiResolutionFlops(
  base: BaseFlops,
  head: HeadConfig,
  config: MultiResolutionConfig,
  input: { batch: number; height: number; width: number },
  kind: PassKind,
): number {
  const s = config.contextScale;
  const [dh, dw] = config.detailCrop;
  const attention = (batch: number, height: number, width: number) =>
    config.attention === "fixed" ? 0 : batch *
      headFlops(
        "segformer",
        attentionHeadConfig(head, config),
        mitStageSizes(height * s, width * s),
      );
  const context = (batch: number, height: number, width: number) =>
    base(batch, height * s, width * s) + attention(batch, height, width);
  const slide = (batch: number, height: number, width: number) => {
    const stride = config.pseudoLabelWindows === "overlapping" ? [dh / 2, dw / 2] : [dh, dw];
    const windows = slidingWindows([height, width], [dh, dw], stride as [number, number]);
    return context(batch, height, width) + base(batch * windows.length, dh, dw);
  };
  const { batch, height, width } = input;
  switch (kind) {
    case "encode":
      return base(batch, height * s, width * s);
    case "train":
      return context(batch, height, width) + base(batch, dh, dw);
    case "eval":
      return slide(batch, height, width);
    case "predict": {
      const tests = slidingWindows([height, width], config.testWindow, config.testStride);
      return slide(batch * tests.length, tests[0][2], tests[0][3]);
    }
  }
}

export type { Box };
