/**
 * The TensorFlow.js kernels each part of a program executes, so a run can check, in its first
 * second, that the chosen backend has every kernel and every gradient it will need, instead of
 * failing after an hour at the first evaluation. The lists were read off `tf.profile` of a real
 * step; `tests/compile/kernels_test.ts` profiles the step again and fails when a kernel is
 * missing from them, so they cannot go stale.
 *
 * @module
 */
import { missingGradients, missingKernels } from "../backend/mod.ts";

/** Kernels of one program part: run forward (they need gradients) and run only backward. */
export interface KernelUse {
  /** Kernels on the path from trainable parameters to the loss: each needs a gradient. */
  differentiated: readonly string[];
  /** Kernels the gradients run (they need only a forward implementation). */
  backward: readonly string[];
}

/** MiT encoder with either head, in training mode (dropout, drop-path, BatchNorm statistics). */
export const SEGMENTOR_KERNELS: KernelUse = {
  differentiated: [
    "Add",
    "BatchMatMul",
    "Cast",
    "Concat",
    "Conv2D",
    "DepthwiseConv2dNative",
    "Erf",
    "Exp",
    "Identity",
    "Mean",
    "Multiply",
    "Neg",
    "PadV2",
    "Pow",
    "RealDiv",
    "Relu",
    "Reshape",
    "ResizeBilinear",
    "Rsqrt",
    "Softmax",
    "SplitV",
    "Sqrt",
    "Square",
    "Sub",
    "Sum",
    "Transpose",
    "UdaGelu",
    "UdaLayerNorm",
    "UdaLinear",
    "Unpack",
  ],
  backward: [
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
    "DepthwiseConv2dNativeBackpropInput",
    "Fill",
    "Pack",
    "Reverse",
    "Select",
    "Step",
    "Equal",
    "UdaGeluGrad",
    "UdaLayerNormGrad",
    "UdaLinearGrad",
    "UdaReluGrad",
  ],
};

/** Pixel-wise cross-entropy with the ignore label. */
export const CROSS_ENTROPY_KERNELS: KernelUse = {
  differentiated: ["Cast", "Exp", "Log", "Max", "Mean", "Multiply", "Neg", "Sub", "Sum"],
  backward: ["Equal", "Fill", "OneHot", "Select"],
};

/** Thing-class feature distance: the mask from the source labels, the masked mean L2 norm. */
export const FEATURE_DISTANCE_KERNELS: KernelUse = {
  differentiated: ["Multiply", "RealDiv", "Sqrt", "Square", "Sub", "Sum"],
  backward: [
    "ArgMax",
    "AvgPool",
    "Cast",
    "ExpandDims",
    "GatherV2",
    "Greater",
    "GreaterEqual",
    "LogicalOr",
    "Max",
    "Maximum",
    "OneHot",
    "OnesLike",
    "Select",
  ],
};

/**
 * Self-training outside the gradient: the teacher's forward pass in evaluation mode with
 * BatchNorm batch statistics, pseudo-labels and their weights, ClassMix and the EMA update.
 */
export const SELF_TRAINING_KERNELS: KernelUse = {
  differentiated: [],
  backward: [
    "Add",
    "ArgMax",
    "Cast",
    "ExpandDims",
    "GreaterEqual",
    "Max",
    "Mean",
    "Multiply",
    "OnesLike",
    "Reshape",
    "Select",
    "Softmax",
    "Sub",
    "UdaEmaUpdateGroup",
  ],
};

/** One AdamW update: the fused kernel of every parameter in one dispatch (`backend/kernels/adamw.ts`). */
export const ADAMW_KERNELS: KernelUse = {
  differentiated: [],
  backward: ["UdaAdamWGroup"],
};

/** Whole-image evaluation: resize logits to the label, argmax, confusion counts. */
export const EVALUATION_KERNELS: KernelUse = {
  differentiated: [],
  backward: ["ResizeBilinear", "ArgMax", "NotEqual", "Select", "Bincount", "Cast", "Reshape"],
};

/** Merges kernel uses, sorted and without repeats. */
export function mergeKernelUses(uses: readonly KernelUse[]): KernelUse {
  const d = new Set<string>();
  const b = new Set<string>();
  for (const u of uses) {
    u.differentiated.forEach((k) => d.add(k));
    u.backward.forEach((k) => b.add(k));
  }
  return { differentiated: [...d].sort(), backward: [...b].sort() };
}

/**
 * Throws one paragraph naming every kernel the backend lacks and every differentiated kernel
 * without a gradient (gradients are backend-independent in TensorFlow.js, kernels are not).
 */
export function checkKernels(use: KernelUse, backend: string): void {
  const all = [...new Set([...use.differentiated, ...use.backward])].sort();
  const noKernel = missingKernels(all, backend);
  const noGradient = missingGradients(use.differentiated);
  if (noKernel.length + noGradient.length === 0) return;
  const parts = [];
  if (noKernel.length > 0) {
    parts.push(`the '${backend}' backend has no kernel for ${noKernel.join(", ")}`);
  }
  if (noGradient.length > 0) parts.push(`no gradient is registered for ${noGradient.join(", ")}`);
  throw new Error(
    `This experiment cannot train on '${backend}': ${parts.join("; ")}. Nothing was run. ` +
      `Choose another backend with --backend (wasm and cpu have every kernel UDA-Lab uses), ` +
      `or see docs/backends.md for registering the missing kernels.`,
  );
}
