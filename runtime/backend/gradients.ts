/**
 * Convolution gradients that support dilation, on every backend.
 *
 * tfjs 4.22 asserts dilation 1 in the gradients of `Conv2D` and `DepthwiseConv2dNative`
 * ("dilation rates greater than 1 are not yet supported in gradients"), which would make the
 * DAFormer decoder's dilated depthwise ASPP branches (dilations 6/12/18) untrainable. We replace
 * both gradient functions: dilation 1 keeps the backend's backprop kernels, and so does wasm at
 * any dilation (our wasm kernels take a `dilations` attribute); other backends compute dilated
 * backprops with the forward-convolution formulations of `conv_backprop.ts` over tfjs ops
 * (tfjs's cpu and webgpu backprop kernels ignore dilation).
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
} from "./conv_backprop.ts";
import { geometryOf, tfOps } from "./tensor_ops.ts";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Pair = [number, number];

function asPair(value: unknown): Pair {
  if (value === undefined || value === null) return [1, 1];
  return typeof value === "number" ? [value, value] : (value as Pair);
}

function isUnit(pair: Pair): boolean {
  return pair[0] === 1 && pair[1] === 1;
}

/** Whether the active backend's backprop kernels honour a `dilations` attribute (ours on wasm). */
function kernelsTakeDilation(): boolean {
  return tf.getBackend() === "wasm";
}

function requireNHWC(op: string, format: unknown): void {
  if (format !== undefined && format !== "NHWC") {
    throw new Error(`gradient of ${op}: only NHWC is supported, got dataFormat '${format}'`);
  }
}

const conv2DGrad: tf.GradConfig = {
  kernelName: "Conv2D",
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as tf.Tensor4D[];
    const grad = dy as tf.Tensor4D;
    const strides = asPair(attrs.strides);
    const dilations = asPair(attrs.dilations);
    const pad = attrs.pad as Pad;
    requireNHWC("conv2d", attrs.dataFormat);
    if (isUnit(dilations)) {
      return {
        x: () => tf.conv2dTranspose(grad, filter, x.shape, strides, pad as "valid"),
        filter: () => tf.tidy(() => tfConv2dBackpropFilter(x, grad, filter.shape, strides, pad)),
      };
    }
    if (kernelsTakeDilation()) {
      const kernelAttrs = {
        strides,
        pad,
        dataFormat: "NHWC",
        dimRoundingMode: undefined,
        dilations,
      };
      return {
        x: () =>
          runKernel("Conv2DBackpropInput", { dy: grad, filter }, {
            ...kernelAttrs,
            inputShape: x.shape,
          }),
        filter: () =>
          runKernel("Conv2DBackpropFilter", { x, dy: grad }, {
            ...kernelAttrs,
            filterShape: filter.shape,
          }),
      };
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      strides,
      dilations,
      pad as "valid",
    );
    const g = geometryOf(info);
    return {
      x: () => tf.tidy(() => conv2dBackpropInput(tfOps, grad, filter, g)),
      filter: () => tf.tidy(() => conv2dBackpropFilter(tfOps, x, grad, g)),
    };
  },
};

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** The backend's `Conv2DBackpropFilter` kernel (tfjs exports no op for it). */
function tfConv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: Pair,
  pad: Pad,
): tf.Tensor {
  return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides,
    pad,
    dataFormat: "NHWC",
    dimRoundingMode: undefined,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

const depthwiseGrad: tf.GradConfig = {
  kernelName: "DepthwiseConv2dNative",
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as tf.Tensor4D[];
    const grad = dy as tf.Tensor4D;
    const strides = asPair(attrs.strides);
    const dilations = asPair(attrs.dilations);
    const pad = attrs.pad as Pad;
    const dimRoundingMode = attrs.dimRoundingMode;
    if (isUnit(dilations) || kernelsTakeDilation()) {
      const kernelAttrs = { strides, dilations, pad, dimRoundingMode };
      return {
        x: () =>
          runKernel("DepthwiseConv2dNativeBackpropInput", { dy: grad, filter }, {
            ...kernelAttrs,
            inputShape: x.shape,
          }),
        filter: () =>
          runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy: grad }, {
            ...kernelAttrs,
            filterShape: filter.shape,
          }),
      };
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      strides,
      dilations,
      pad as "valid",
      dimRoundingMode as "floor" | undefined,
      true,
    );
    const g = geometryOf(info);
    return {
      x: () => tf.tidy(() => depthwiseBackpropInput(tfOps, grad, filter, g)),
      filter: () => tf.tidy(() => depthwiseBackpropFilter(tfOps, x, grad, g, filter.shape[3])),
    };
  },
};

/** Replaces tfjs's `Conv2D` and `DepthwiseConv2dNative` gradients with dilation-aware ones. */
export function registerConvolutionGradients(): void {
  tf.registerGradient(conv2DGrad);
  tf.registerGradient(depthwiseGrad);
}
