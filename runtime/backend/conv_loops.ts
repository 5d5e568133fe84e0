/**
 * The data-movement halves of the wasm convolution backprops, as single JavaScript passes over
 * flat float32 arrays (views of the wasm heap): building the im2col matrix, scattering column
 * gradients back into an image (col2im), small matrix transposes, and the two reductions that
 * XNNPACK has no good kernel for (the depthwise filter gradient and column sums).
 *
 * The matrix products stay in XNNPACK (`wasm_kernels.ts`); these loops only move or add each
 * element once, where the tfjs-kernel formulations of `conv_backprop.ts` sliced, padded,
 * zero-inserted and reversed whole tensors. Layouts are NHWC images and HWIO filters.
 *
 * @module
 */
import type { ConvGeometry } from "./conv_backprop.ts";

/**
 * Rows or channels handled together by the gathering loops: 64 floats are 4 cache lines, so a
 * block's strided reads stay in L1 while every write runs contiguously.
 */
const BLOCK = 64;

/** Smallest integer ≥ a / b for b > 0. */
function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/**
 * Output columns `[x0, x1)` whose kernel tap at column offset `offset` (tap·dilation − pad) reads
 * inside an image of width `size`; the columns outside read zero padding.
 */
function validRange(
  offset: number,
  stride: number,
  size: number,
  count: number,
): [number, number] {
  const x0 = Math.min(count, Math.max(0, ceilDiv(-offset, stride)));
  const x1 = Math.min(count, Math.max(x0, ceilDiv(size - offset, stride)));
  return [x0, x1];
}

/**
 * The im2col matrix, transposed: `out[(i·kw + j)·C + c][(n·oh + y)·ow + x] =
 * X[n, y·sh + i·dh − padTop, x·sw + j·dw − padLeft, c]` (zero outside the image), so that
 * `out · dY` is the filter gradient with no transpose. Every write runs contiguously along output
 * columns. Stride-1 filters with several taps first transpose X to channel-first, once, so each
 * of the k² taps then copies contiguous runs; otherwise (one tap, or strided reads anyway) the
 * reads gather straight from X (each measured ~1.8× faster than the other where it is used:
 * 3×3 stride 1 on [2,32,32,256], 1×1 on [2,32,32,1024]).
 */
export function im2colTransposed(x: Float32Array, g: ConvGeometry, out: Float32Array): void {
  if (g.strideWidth === 1 && g.filterHeight * g.filterWidth > 1) gatherChannelFirst(x, g, out);
  else gatherStrided(x, g, out);
}

/** {@linkcode im2colTransposed} reading X in place, in cache-resident blocks of channels. */
function gatherStrided(x: Float32Array, g: ConvGeometry, out: Float32Array): void {
  const { batch: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const columns = n * oh * ow;
  const step = g.strideWidth * c;
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      const firstRow = (i * g.filterWidth + j) * c;
      const colOffset = j * g.dilationWidth - g.padLeft;
      const [x0, x1] = validRange(colOffset, g.strideWidth, w, ow);
      for (let b = 0; b < n; b++) {
        for (let y = 0; y < oh; y++) {
          const column = (b * oh + y) * ow;
          const row = y * g.strideHeight + i * g.dilationHeight - g.padTop;
          const inside = row >= 0 && row < h;
          const source = ((b * h + row) * w + x0 * g.strideWidth + colOffset) * c;
          for (let c0 = 0; c0 < c; c0 += BLOCK) {
            const c1 = Math.min(c, c0 + BLOCK);
            for (let ch = c0; ch < c1; ch++) {
              const d = (firstRow + ch) * columns + column;
              if (!inside) {
                out.fill(0, d, d + ow);
                continue;
              }
              if (x0 > 0) out.fill(0, d, d + x0);
              if (x1 < ow) out.fill(0, d + x1, d + ow);
              for (let xx = x0, s = source + ch; xx < x1; xx++, s += step) out[d + xx] = x[s];
            }
          }
        }
      }
    }
  }
}

/** {@linkcode im2colTransposed} from a channel-first copy of X `[C, n, H, W]`. */
function gatherChannelFirst(x: Float32Array, g: ConvGeometry, out: Float32Array): void {
  const { batch: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const planes = new Float32Array(x.length);
  transpose(x, n * h * w, c, planes);
  const sw = g.strideWidth;
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      const firstRow = (i * g.filterWidth + j) * c;
      const colOffset = j * g.dilationWidth - g.padLeft;
      const [x0, x1] = validRange(colOffset, sw, w, ow);
      for (let ch = 0, d = firstRow * n * oh * ow; ch < c; ch++) {
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++, d += ow) {
            const row = y * g.strideHeight + i * g.dilationHeight - g.padTop;
            if (row < 0 || row >= h) {
              out.fill(0, d, d + ow);
              continue;
            }
            if (x0 > 0) out.fill(0, d, d + x0);
            if (x1 < ow) out.fill(0, d + x1, d + ow);
            const s = ((ch * n + b) * h + row) * w + x0 * sw + colOffset;
            for (let xx = x0, q = s; xx < x1; xx++, q += sw) out[d + xx] = planes[q];
          }
        }
      }
    }
  }
}

/**
 * col2im: `dx[n, y·sh + i·dh − padTop, x·sw + j·dw − padLeft, c] += cols[(n·oh + y)·ow + x]
 * [(i·kw + j)·C + c]` over every tap that lands inside the image, into a zeroed `dx`. This is
 * the adjoint of im2col (with cols not transposed): the input gradient of a convolution whose
 * per-pixel column gradients `dY · Wᵀ` are `cols`. Both sides are read and written contiguously
 * along channels; float32 accumulation, taps in (i, j) order.
 */
export function col2im(cols: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { batch: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const { filterHeight: kh, filterWidth: kw } = g;
  const rowLength = kh * kw * c;
  dx.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        const source = ((b * oh + y) * ow + xx) * rowLength;
        for (let i = 0; i < kh; i++) {
          const row = y * g.strideHeight + i * g.dilationHeight - g.padTop;
          if (row < 0 || row >= h) continue;
          for (let j = 0; j < kw; j++) {
            const col = xx * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (col < 0 || col >= w) continue;
            const d = ((b * h + row) * w + col) * c;
            const s = source + (i * kw + j) * c;
            for (let ch = 0; ch < c; ch++) dx[d + ch] += cols[s + ch];
          }
        }
      }
    }
  }
}

/**
 * `out[c][r] = a[r][c]` for a row-major `rows × cols` matrix, in square tiles: each write runs
 * contiguously down a tile's rows while the tile's strided reads stay in cache.
 */
export function transpose(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(cols, c0 + BLOCK);
      for (let col = c0; col < c1; col++) {
        for (let r = r0, d = col * rows + r0, s = r0 * cols + col; r < r1; r++, s += cols) {
          out[d++] = a[s];
        }
      }
    }
  }
}

/**
 * The gradient of a depthwise convolution's filter, `[kh, kw, C, M]`:
 * `dW[i, j, c, m] = Σ_{n,y,x} X[n, y·sh + i·dh − padTop, x·sw + j·dw − padLeft, c] ·
 * dY[n, y, x, c·M + m]`, in one pass over the output pixels with channels innermost. Sums are
 * accumulated in float64 and rounded once, so the result is the correctly rounded sum up to
 * float64 error (~n·oh·ow·2⁻⁵³ relative), whatever the summation order.
 */
export function depthwiseFilterGradient(
  x: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
  multiplier: number,
  out: Float32Array,
): void {
  const { batch: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const { filterHeight: kh, filterWidth: kw } = g;
  const outChannels = c * multiplier;
  const sums = new Float64Array(kh * kw * outChannels);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        const grad = ((b * oh + y) * ow + xx) * outChannels;
        for (let i = 0; i < kh; i++) {
          const row = y * g.strideHeight + i * g.dilationHeight - g.padTop;
          if (row < 0 || row >= h) continue;
          for (let j = 0; j < kw; j++) {
            const col = xx * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (col < 0 || col >= w) continue;
            const pixel = ((b * h + row) * w + col) * c;
            const tap = (i * kw + j) * outChannels;
            if (multiplier === 1) {
              for (let ch = 0; ch < c; ch++) sums[tap + ch] += x[pixel + ch] * dy[grad + ch];
            } else {
              for (let ch = 0; ch < c; ch++) {
                const value = x[pixel + ch];
                const o = ch * multiplier;
                for (let m = 0; m < multiplier; m++) {
                  sums[tap + o + m] += value * dy[grad + o + m];
                }
              }
            }
          }
        }
      }
    }
  }
  out.set(sums);
}

/**
 * Column sums of a row-major `rows × cols` matrix: `out[c] = Σ_r a[r][c]`, accumulated in float32
 * in row order. That is the exact arithmetic of the XNNPACK product `ones[1, rows] · a` this
 * replaces (each step rounds `acc + a[r][c]` to float32), so the results are bit-identical to it,
 * without XNNPACK packing `a` as a weight matrix on every call.
 */
export function columnSums(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  out.fill(0);
  for (let r = 0, s = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) out[col] += a[s++];
  }
}

/**
 * A filter `[kh, kw, a, b]` flipped in both spatial axes: `out[kh−1−i, kw−1−j] = W[i, j]`, each
 * tap's `[a, b]` block transposed to `[b, a]` when `swapChannels` (the filter of the transposed
 * convolution that a stride-1 input gradient correlates with) and copied otherwise.
 */
export function flipFilter(
  filter: Float32Array,
  shape: readonly number[],
  swapChannels: boolean,
  out: Float32Array,
): void {
  const [kh, kw, a, b] = shape;
  const tap = a * b;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const source = filter.subarray((i * kw + j) * tap, (i * kw + j + 1) * tap);
      const target = ((kh - 1 - i) * kw + (kw - 1 - j)) * tap;
      if (swapChannels) transpose(source, a, b, out.subarray(target, target + tap));
      else out.set(source, target);
    }
  }
}
