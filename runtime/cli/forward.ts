/**
 * `deno task forward MODEL --weights W.safetensors --input I.safetensors --output O.safetensors
 *  [--classes N] [--channels C] [--hrda] [--backend wasm|webgpu|cpu|tensorflow]`
 *
 * One eval-mode forward pass, for confirming that weights converted from the official PyTorch
 * checkpoints reproduce PyTorch's outputs (docs/weights.md). Tensors are in PyTorch layout: the
 * input `image` is N×3×H×W float32; the output holds `logits` (N×classes×H/4×W/4) and the encoder
 * outputs `stage1`…`stage4` (N×C×h×w). With `--hrda` the model is HRDA's with its released
 * defaults (parameters `decode_head.head.*` and `decode_head.scale_attention.*`), the input is one
 * crop, and the pass is the reference's `encode_decode` of it (context × 0.5 plus overlapping
 * detail windows of half its side, fused): `logits` are the fused ones, `context_logits`,
 * `detail_logits` and `attention` the parts, and the stages those of the context crop.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../tf.ts";
import { BACKEND_NAMES, type BackendName, useBackend } from "../backend/mod.ts";
import { createSegmentor, parseModelSpec } from "../nn/segmentor.ts";
import { readSafetensors, type StoredTensor, writeSafetensors } from "../io/safetensors.ts";
import { loadTorchWeights, transposeArray } from "../io/torch_weights.ts";
import { multiResolution } from "../../dsl/mod.ts";
import { RandomStream } from "../random.ts";
import { HRDA_HEAD_PREFIX, initMultiResolution, multiResolutionSegmentor } from "../nn/hrda.ts";
import { multiResolutionConfig } from "../blocks/multi_resolution.ts";
import type { WrappedSegmentor } from "../blocks/types.ts";

const USAGE = "usage: deno task forward MODEL --weights W.safetensors --input I.safetensors " +
  "--output O.safetensors [--classes N] [--channels C] [--hrda] " +
  "[--backend wasm|webgpu|cpu|tensorflow]\n" +
  "MODEL is ENCODER+DECODER, e.g. mit_b0+segformer or mit_b5+daformer.";

/** A failure the user caused: printed as one paragraph with this exit code. */
class UsageError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive integer, got '${value}'.\n${USAGE}`, 2);
  }
  return n;
}

/** Runs the command with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    await forward(args);
    return 0;
  } catch (error) {
    console.error(
      error instanceof UsageError ? error.message : `forward: ${(error as Error).message}`,
    );
    return error instanceof UsageError ? error.code : 1;
  }
}

async function forward(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        weights: { type: "string" },
        input: { type: "string" },
        output: { type: "string" },
        classes: { type: "string" },
        channels: { type: "string" },
        hrda: { type: "boolean", default: false },
        backend: { type: "string", default: "wasm" },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}.\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`Give exactly one MODEL.\n${USAGE}`, 2);
  for (const flag of ["weights", "input", "output"] as const) {
    if (values[flag] === undefined) throw new UsageError(`--${flag} is required.\n${USAGE}`, 2);
  }
  let spec;
  try {
    spec = parseModelSpec(positionals[0]);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`, 2);
  }
  const numClasses = positiveInteger("classes", values.classes) ?? 19;
  const channels = positiveInteger("channels", values.channels);
  if (!BACKEND_NAMES.includes(values.backend as BackendName)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}, got '${values.backend}'.\n${USAGE}`,
      2,
    );
  }
  await useBackend(values.backend as BackendName);

  const input = await readSafetensors(values.input!);
  const image = input.tensors.get("image");
  if (image === undefined) {
    throw new Error(
      `${values.input}: has no tensor named 'image' (found: ${
        [...input.tensors.keys()].join(", ") || "none"
      }). Save the N×3×H×W float32 input under the name 'image'.`,
    );
  }
  if (image.shape.length !== 4 || image.shape[1] !== 3 || image.dtype !== "float32") {
    throw new Error(
      `${values.input}: 'image' must be float32 N×3×H×W, got ${image.dtype} [${image.shape}].`,
    );
  }
  const weights = await readSafetensors(values.weights!);
  const [n, c, h, w] = image.shape;
  const segmentor = createSegmentor(spec, {
    numClasses,
    channels,
    headPrefix: values.hrda ? HRDA_HEAD_PREFIX : undefined,
  });
  let network: WrappedSegmentor = segmentor;
  if (values.hrda) {
    const config = multiResolutionConfig(multiResolution(), [h, w]);
    initMultiResolution(segmentor, config, new RandomStream(0));
    network = multiResolutionSegmentor(segmentor, config);
  }
  const outputs: [string, StoredTensor][] = [];
  try {
    loadTorchWeights(segmentor.params, weights, values.weights!);
    const nchw = image.data as Float32Array;
    const results = tf.tidy(() => {
      const nhwc = tf.tensor4d(transposeArray(nchw, image.shape, [0, 2, 3, 1]), [n, h, w, c]);
      const out = network.forward(nhwc, { training: false });
      const named: [string, tf.Tensor4D][] = [["logits", out.logits!]];
      for (const part of ["contextLogits", "detailLogits", "attention"]) {
        const t = out[part];
        if (t instanceof tf.Tensor) named.push([snakeCase(part), t as tf.Tensor4D]);
      }
      out.features!.forEach((f, i) => named.push([`stage${i + 1}`, f]));
      return named;
    });
    for (const [name, t] of results) {
      // NHWC → PyTorch's NCHW.
      const data = transposeArray(new Float32Array(await t.data()), t.shape, [0, 3, 1, 2]);
      const shape = [t.shape[0], t.shape[3], t.shape[1], t.shape[2]];
      outputs.push([name, { dtype: "float32", shape, data }]);
    }
    tf.dispose(results.map(([, t]) => t));
  } finally {
    segmentor.params.dispose();
  }
  await writeSafetensors(values.output!, outputs, {
    model: positionals[0],
    backend: values.backend!,
  });
  console.log(
    `forward: wrote ${outputs.map(([k, t]) => `${k} [${t.shape}]`).join(", ")} to ${values.output}`,
  );
}

/** `contextLogits` → `context_logits`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
