/**
 * The small projection head PiPa's patch term and PiPa++'s temporal term put on the student's
 * decoder embedding: `<prefix>.0` (1×1 conv C→C, bias) → ReLU → `<prefix>.2` (1×1 conv C→d,
 * bias), then L2-normalised (PiPa §3.2: "a projection head ... to obtain the embedding"; the
 * layer indices are the reference's `nn.Sequential` positions, so checkpoints name them alike).
 *
 * One definition serves both terms: only the network's name, the parameters' prefix and its
 * `plan` line differ.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import { ParamStore } from "../nn/params.ts";
import { addConv } from "../nn/init.ts";
import { conv2d } from "../nn/layers.ts";
import { l2Normalize } from "../losses/pixel_contrast.ts";
import { countParams, type SegmentorNetwork } from "./model.ts";
import type { NetworkPlan } from "./types.ts";

/** What differs between the terms that use a decoder projection. */
export interface DecoderProjectionOptions {
  /** The network's name (in checkpoints, `plan` and `context.network`). */
  name: string;
  /** Its parameters' prefix: `<prefix>.0` and `<prefix>.2`. */
  prefix: string;
  /** Output dimension d. */
  dim: number;
  /** Who it belongs to, opening its `plan` line ("PiPa's patch projection"). */
  title: string;
}

/**
 * The trainable, checkpointed (not exported) network of a decoder projection; its width C is the
 * student's decoder width, read when the program is built.
 */
export function decoderProjectionNetwork(options: DecoderProjectionOptions): NetworkPlan {
  const { name, prefix, dim, title } = options;
  return {
    name,
    trainable: true,
    checkpointed: true,
    exported: false,
    describe: (params) => `${title} (1×1, ReLU, 1×1 to ${dim}), ${countParams(params)} parameters`,
    build(context) {
      const student = context.networks.get("student") as SegmentorNetwork;
      const channels = student.model.head.channels;
      const params = new ParamStore();
      const rng = new RandomStream(context.seed).fork(`init:${name}`);
      addConv(params, rng.fork("0"), `${prefix}.0`, 1, channels, channels, { bias: true });
      addConv(params, rng.fork("2"), `${prefix}.2`, 1, channels, dim, { bias: true });
      return Promise.resolve({ params });
    },
  };
}

/** The unit embeddings `[N, h, w, d]` of a `[N, h, w, C]` feature map through the projection. */
export function projectDecoderFeatures(
  params: ParamStore,
  prefix: string,
  features: tf.Tensor4D,
): tf.Tensor4D {
  const hidden = tf.relu(conv2d(params, `${prefix}.0`, features));
  return l2Normalize(conv2d(params, `${prefix}.2`, hidden)) as tf.Tensor4D;
}
