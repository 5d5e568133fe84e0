/**
 * Convolution backprops written as forward convolutions and matrix products.
 *
 * Each algorithm is written once against the small {@linkcode TensorOps} interface and runs in
 * two places: inside our gradient functions for dilated convolutions on every backend (over tfjs
 * ops), and inside our wasm kernels (over wasm kernel functions, so the work lands in XNNPACK)
 * where they are the fastest formulation there: the stride-1 input gradients and the depthwise
 * input gradient. The other wasm backprops gather and scatter in single JavaScript passes
 * instead (`conv_loops.ts`).
 *
 * Notation (NHWC, filter HWIO): Y[n,y,x,o] = Σ X[n, y·s + i·d − p, x·s + j·d − p, c] W[i,j,c,o].
 * - dW[i,j,c,o] = Σ_{n,y,x} X[n, i·d + y·s − p, ...] dY[n,y,x,o]: gather the k² shifted, strided
 *   views of X (im2col, built transposed), then one matrix product with dY.
 * - dX = a stride-1 convolution, dilation d, of dY (zero-inserted by s and padded by
 *   (k−1)·d − p) with the filter flipped in space and its in/out channels swapped.
 *
 * @module
 */

/** The few tensor operations the backprop algorithms need; `T` is a tensor handle. */
export interface TensorOps<T> {
  /** Shape of a tensor. */
  shape(x: T): readonly number[];
  /** Reshape (same element count). */
  reshape(x: T, shape: number[]): T;
  /** Axis permutation. */
  transpose(x: T, perm: number[]): T;
  /** Zero padding `[before, after]` per axis (non-negative). */
  pad(x: T, paddings: [number, number][]): T;
  /** Contiguous slice. */
  slice(x: T, begin: number[], size: number[]): T;
  /** Strided slice `[begin, end)` with steps. */
  stridedSlice(x: T, begin: number[], end: number[], strides: number[]): T;
  /**
   * A filter `[kh, kw, a, b]` flipped in both spatial axes; with `swapChannels`, also transposed
   * to `[kh, kw, b, a]` (the filter of the transposed convolution).
   */
  flipFilter(filter: T, swapChannels: boolean): T;
  /** Concatenation along an axis. */
  concat(xs: T[], axis: number): T;
  /** Matrix product of rank-2 tensors (no transpose flags: they are 10× slower on wasm). */
  matMul(a: T, b: T): T;
  /** Stride-1, unpadded convolution with dilation. */
  conv2d(x: T, filter: T, dilation: [number, number]): T;
  /** Unpadded depthwise convolution with strides and dilation. */
  depthwiseConv2d(x: T, filter: T, dilation: [number, number], strides?: [number, number]): T;
  /** Sum over axes. */
  sum(x: T, axes: number[]): T;
}

/** The geometry of a convolution, as tfjs's `computeConv2DInfo` reports it. */
export interface ConvGeometry {
  /** Batch size. */
  batch: number;
  /** Input height and width. */
  inHeight: number;
  /** Input width. */
  inWidth: number;
  /** Input channels. */
  inChannels: number;
  /** Output height. */
  outHeight: number;
  /** Output width. */
  outWidth: number;
  /** Filter height. */
  filterHeight: number;
  /** Filter width. */
  filterWidth: number;
  /** Stride rows. */
  strideHeight: number;
  /** Stride columns. */
  strideWidth: number;
  /** Dilation rows. */
  dilationHeight: number;
  /** Dilation columns. */
  dilationWidth: number;
  /** Zero rows added above the input. */
  padTop: number;
  /** Zero columns added left of the input. */
  padLeft: number;
}

/**
 * The im2col matrix, already transposed: `[kh·kw·c, n·outH·outW]`, rows ordered (i, j, c) as the
 * HWIO filter. Built from the channel-first input so no large transpose is needed.
 */
function columnsTransposed<T>(ops: TensorOps<T>, x: T, g: ConvGeometry): T {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = g;
  const c = ops.shape(x)[3];
  const n = g.batch;
  const channelFirst = ops.transpose(x, [3, 0, 1, 2]);
  // Rows the taps read, relative to the padded input's top; pad below only as far as needed.
  const needH = (kh - 1) * dh + (oh - 1) * sh + 1;
  const needW = (kw - 1) * dw + (ow - 1) * sw + 1;
  const padBottom = Math.max(0, needH - g.padTop - g.inHeight);
  const padRight = Math.max(0, needW - g.padLeft - g.inWidth);
  const padded = g.padTop || g.padLeft || padBottom || padRight
    ? ops.pad(channelFirst, [[0, 0], [0, 0], [g.padTop, padBottom], [g.padLeft, padRight]])
    : channelFirst;
  const rows: T[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const begin = [0, 0, i * dh, j * dw];
      const view = sh === 1 && sw === 1
        ? ops.slice(padded, begin, [c, n, oh, ow])
        : ops.stridedSlice(padded, begin, [
          c,
          n,
          i * dh + (oh - 1) * sh + 1,
          j * dw + (ow - 1) * sw + 1,
        ], [1, 1, sh, sw]);
      rows.push(ops.reshape(view, [c, n * oh * ow]));
    }
  }
  return ops.concat(rows, 0);
}

/** Whether the convolution is 1×1, stride 1, unpadded: X reshaped is its im2col matrix. */
export function isPointwise(g: ConvGeometry): boolean {
  return g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 &&
    g.strideWidth === 1 && g.padTop === 0 && g.padLeft === 0 &&
    g.outHeight === g.inHeight && g.outWidth === g.inWidth;
}

/** dW of a dense convolution: `[kh, kw, inC, outC]`. */
export function conv2dBackpropFilter<T>(ops: TensorOps<T>, x: T, dy: T, g: ConvGeometry): T {
  const outC = ops.shape(dy)[3];
  const { filterHeight: kh, filterWidth: kw, inChannels: c } = g;
  const dy2 = ops.reshape(dy, [-1, outC]);
  const columns = isPointwise(g)
    ? ops.transpose(ops.reshape(x, [-1, c]), [1, 0])
    : columnsTransposed(ops, x, g);
  return ops.reshape(ops.matMul(columns, dy2), [kh, kw, c, outC]);
}

/** dY zero-inserted by the stride, then padded/cropped for a full correlation back to H×W. */
function spreadAndPad<T>(ops: TensorOps<T>, dy: T, g: ConvGeometry): T {
  const [n, oh, ow, ch] = ops.shape(dy);
  const { strideHeight: sh, strideWidth: sw } = g;
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const grid = ops.reshape(dy, [n, oh, 1, ow, 1, ch]);
    const holes = ops.pad(grid, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    spread = ops.reshape(holes, [n, oh * sh, ow * sw, ch]);
  }
  const spanH = (g.filterHeight - 1) * g.dilationHeight;
  const spanW = (g.filterWidth - 1) * g.dilationWidth;
  const top = spanH - g.padTop;
  const left = spanW - g.padLeft;
  const bottom = g.inHeight + spanH - top - oh * sh;
  const right = g.inWidth + spanW - left - ow * sw;
  return padOrCrop(ops, spread, top, bottom, left, right);
}

/** Pads (positive amounts) or crops (negative amounts) rows and columns. */
function padOrCrop<T>(
  ops: TensorOps<T>,
  x: T,
  top: number,
  bottom: number,
  left: number,
  right: number,
): T {
  let out = x;
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    out = ops.pad(out, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [
      Math.max(left, 0),
      Math.max(right, 0),
    ], [0, 0]]);
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = ops.shape(out);
    const t = Math.max(-top, 0);
    const l = Math.max(-left, 0);
    out = ops.slice(out, [0, t, l, 0], [
      n,
      h - t - Math.max(-bottom, 0),
      w - l - Math.max(-right, 0),
      c,
    ]);
  }
  return out;
}

/** dX of a dense convolution: `[n, H, W, inC]`. */
export function conv2dBackpropInput<T>(ops: TensorOps<T>, dy: T, filter: T, g: ConvGeometry): T {
  const [, , c, outC] = ops.shape(filter);
  if (isPointwise(g)) {
    const filterT = ops.transpose(ops.reshape(filter, [c, outC]), [1, 0]);
    const dx = ops.matMul(ops.reshape(dy, [-1, outC]), filterT);
    return ops.reshape(dx, [g.batch, g.inHeight, g.inWidth, c]);
  }
  return ops.conv2d(spreadAndPad(ops, dy, g), ops.flipFilter(filter, true), [
    g.dilationHeight,
    g.dilationWidth,
  ]);
}

/**
 * dW of a depthwise convolution: `[kh, kw, C, multiplier]`, as ONE depthwise convolution. With
 * the batch moved into the channels, X becomes `[1, H, W, n·C]` and dY a `[outH, outW, n·C, M]`
 * filter; correlating them with stride = the forward dilation and dilation = the forward stride
 * yields dW per (n, c) at the k×k tap positions; summing over n finishes it.
 */
export function depthwiseBackpropFilter<T>(
  ops: TensorOps<T>,
  x: T,
  dy: T,
  g: ConvGeometry,
  multiplier: number,
): T {
  const { filterHeight: kh, filterWidth: kw, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const n = g.batch;
  const image = ops.reshape(ops.transpose(x, [1, 2, 0, 3]), [1, g.inHeight, g.inWidth, n * c]);
  const grad = ops.reshape(dy, [n, oh, ow, c, multiplier]);
  const filter = ops.reshape(ops.transpose(grad, [1, 2, 0, 3, 4]), [oh, ow, n * c, multiplier]);
  // Rows and columns read: (k − 1)·d + (out − 1)·s + 1, starting padTop above the image.
  const needH = (kh - 1) * g.dilationHeight + (oh - 1) * g.strideHeight + 1;
  const needW = (kw - 1) * g.dilationWidth + (ow - 1) * g.strideWidth + 1;
  const padded = padOrCrop(
    ops,
    image,
    g.padTop,
    needH - g.padTop - g.inHeight,
    g.padLeft,
    needW - g.padLeft - g.inWidth,
  );
  const perSample = ops.depthwiseConv2d(padded, filter, [g.strideHeight, g.strideWidth], [
    g.dilationHeight,
    g.dilationWidth,
  ]);
  return ops.sum(ops.reshape(perSample, [kh, kw, n, c, multiplier]), [2]);
}

/** dX of a depthwise convolution: `[n, H, W, C]`. */
export function depthwiseBackpropInput<T>(
  ops: TensorOps<T>,
  dy: T,
  filter: T,
  g: ConvGeometry,
): T {
  const [kh, kw, c, multiplier] = ops.shape(filter);
  const flipped = kh > 1 || kw > 1 ? ops.flipFilter(filter, false) : filter;
  const spread = spreadAndPad(ops, dy, g);
  const dilation: [number, number] = [g.dilationHeight, g.dilationWidth];
  if (multiplier === 1) return ops.depthwiseConv2d(spread, flipped, dilation);
  // Each output channel c·M+m came from input channel c: convolve every output channel with its
  // own filter, then sum the M results of each input channel.
  const perOutput = ops.depthwiseConv2d(
    spread,
    ops.reshape(flipped, [kh, kw, c * multiplier, 1]),
    dilation,
  );
  return ops.sum(ops.reshape(perOutput, [g.batch, g.inHeight, g.inWidth, c, multiplier]), [4]);
}
