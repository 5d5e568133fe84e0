/**
 * The bodies of our SIMD kernels, written with {@linkcode Code}: each is the float32 arithmetic
 * of the kernel it speeds up, in the same operation order, four lanes at a time. WebAssembly has
 * no fused multiply-add and its `f32x4` add, sub, mul, div and sqrt are IEEE-correctly rounded,
 * so every lane computes exactly what the scalar float32 code computes:
 *
 * - `adamwUpdate` and `emaUpdate`: the loops of `UdaAdamW` and `UdaEmaUpdate` (`kernels/adamw.ts`,
 *   `kernels/ema.ts`), on a multiple of 4 elements (the caller does the last 0–3 in
 *   JavaScript). Measured 11 ns per element for the `Math.fround` loop of AdamW in V8; the
 *   rounding after each operation is what costs, and f32 lanes need none.
 * - `batchMatMul`: tfjs-backend-wasm's `slow_batch_matmul`, which runs every batched product
 *   (attention's `q·kᵀ` and `attn·v`) as a scalar loop at ~0.5 GFLOP/s: per output element,
 *   partial sums over blocks of 48 along k, each a sequential float sum, added to the output in
 *   block order. Here four or sixteen output columns are summed at once, in the same order.
 * - `reluGrad`: `UdaReluGrad`'s loop (`kernels/relu_grad.ts`), the comparison as a lane mask.
 * - `columnSums`: the column sums of `Sum` and `Mean` over leading axes (`wasm_layout.ts`).
 * - `depthwiseFilterGrad`: `depthwiseFilterGradient` of `conv_loops.ts` (channel multiplier 1)
 *   with its float64 sums, two channels per f64x2 lane pair: float32 products are exact in
 *   double, and each lane adds them in the loop's order.
 *
 * @module
 */
import {
  Code,
  F32,
  forLoop,
  type FunctionDef,
  I32,
  increment,
  Locals,
  V128,
} from "./wasm_binary.ts";

/** The k-block of tfjs's `slow_batch_matmul` (`kBlockSize` in BatchMatMul.cc). */
export const MATMUL_K_BLOCK = 48;

/** `dst = base + index * scale`, all four i32 locals. */
function offset(code: Code, dst: number, base: number, index: number, scale: number): void {
  code.get(base).get(index).get(scale).i32Mul().i32Add().set(dst);
}

/**
 * `adamw(p, g, m, v, outP, outM, outV, count, β1, 1−β1, β2, 1−β2, ε, stepSize, √c2, decay)`
 * over `count` (a multiple of 4) elements at the given byte addresses.
 */
function adamwFunction(): FunctionDef {
  const l = new Locals();
  const [p, g, m, v, outP, outM, outV, count] = Array.from({ length: 8 }, () => l.param(I32));
  const constants = Array.from({ length: 8 }, () => l.param(F32));
  const i = l.local(I32), end = l.local(I32);
  const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, stepSize, sqrtCorrection2, decay] =
    constants.map(() => l.local(V128));
  const gv = l.local(V128), mv = l.local(V128), vv = l.local(V128);
  const code = new Code();
  code.get(count).i32Const(2).i32Shl().set(end);
  constants.forEach((c, k) => code.get(c).f32x4Splat().set(beta1 + k));
  code.i32Const(0).set(i);
  const at = (base: number) => code.get(base).get(i).i32Add();
  code.block().loop().get(i).get(end).i32GeU().brIf(1);
  at(g).v128Load().set(gv);
  // m′ = β1·m + (1−β1)·g
  at(m).v128Load().get(beta1).f32x4Mul().get(gv).get(oneMinusBeta1).f32x4Mul().f32x4Add().set(mv);
  at(outM).get(mv).v128Store();
  // v′ = β2·v + ((g·g)·(1−β2))
  at(v).v128Load().get(beta2).f32x4Mul();
  code.get(gv).get(gv).f32x4Mul().get(oneMinusBeta2).f32x4Mul().f32x4Add().set(vv);
  at(outV).get(vv).v128Store();
  // p′ = p·decay − (m′ / (√v′/√c2 + ε))·stepSize
  at(outP);
  at(p).v128Load().get(decay).f32x4Mul();
  code.get(mv).get(vv).f32x4Sqrt().get(sqrtCorrection2).f32x4Div().get(eps).f32x4Add();
  code.f32x4Div().get(stepSize).f32x4Mul().f32x4Sub().v128Store();
  increment(code, i, 16).br(0).end().end();
  return { name: "adamwUpdate", params: l.params, locals: l.locals, body: code };
}

/** `ema(teacher, student, out, count, α, 1−α)`: `out = teacher·α + student·(1−α)`. */
function emaFunction(): FunctionDef {
  const l = new Locals();
  const [teacher, student, out, count] = Array.from({ length: 4 }, () => l.param(I32));
  const alpha = l.param(F32), oneMinusAlpha = l.param(F32);
  const i = l.local(I32), end = l.local(I32), a = l.local(V128), b = l.local(V128);
  const code = new Code();
  code.get(count).i32Const(2).i32Shl().set(end);
  code.get(alpha).f32x4Splat().set(a).get(oneMinusAlpha).f32x4Splat().set(b);
  code.i32Const(0).set(i);
  const at = (base: number) => code.get(base).get(i).i32Add();
  code.block().loop().get(i).get(end).i32GeU().brIf(1);
  at(out);
  at(teacher).v128Load().get(a).f32x4Mul();
  at(student).v128Load().get(b).f32x4Mul().f32x4Add().v128Store();
  increment(code, i, 16).br(0).end().end();
  return { name: "emaUpdate", params: l.params, locals: l.locals, body: code };
}

/** `reluGrad(dy, x, out, count)`: `out = dy · (x > 0 ? 1 : 0)` over a multiple of 4 elements. */
function reluGradFunction(): FunctionDef {
  const l = new Locals();
  const [dy, x, out, count] = Array.from({ length: 4 }, () => l.param(I32));
  const i = l.local(I32), end = l.local(I32), one = l.local(V128);
  const code = new Code();
  code.get(count).i32Const(2).i32Shl().set(end);
  code.f32Const(1).f32x4Splat().set(one);
  code.i32Const(0).set(i);
  const at = (base: number) => code.get(base).get(i).i32Add();
  code.block().loop().get(i).get(end).i32GeU().brIf(1);
  at(out);
  at(dy).v128Load();
  // The lanes where x > 0 (all bits set) keep the bits of 1.0; the others become +0.0.
  at(x).v128Load().v128Zero().f32x4Gt().get(one).v128And();
  code.f32x4Mul().v128Store();
  increment(code, i, 16).br(0).end().end();
  return { name: "reluGrad", params: l.params, locals: l.locals, body: code };
}

/**
 * `batchMatMul(a, b, out, batch, aStride, bStride, m, k, n)`: for each batch entry,
 * `out[m×n] = a[m×k] · b[k×n]`, row-major float32 at byte addresses; `aStride`/`bStride` are
 * the byte distances between batch entries (0 broadcasts one matrix over the batch).
 */
function batchMatMulFunction(): FunctionDef {
  const l = new Locals();
  const [a, b, out, batch, aStride, bStride, m, k, n] = Array.from(
    { length: 9 },
    () => l.param(I32),
  );
  const [bi, aBase, bBase, cBase, i, aRow, cRow, j, k0, k1, kk, pa, pb, rowA, rowC, cStride] = Array
    .from({ length: 16 }, () => l.local(I32));
  const splat = l.local(V128);
  const res = Array.from({ length: 4 }, () => l.local(V128));
  const acc = Array.from({ length: 4 }, () => l.local(V128));
  const sRes = l.local(F32), sAcc = l.local(F32);
  const code = new Code();

  // One pass over the columns j … j+width−1 (width 16 or 4 as f32x4 lanes, or 1 as f32).
  const columnGroup = (vectors: number) => {
    const width = vectors === 0 ? 1 : 4 * vectors;
    const lanes = vectors === 0 ? [] : res.slice(0, vectors);
    code.block().loop();
    code.get(j).i32Const(width).i32Add().get(n).i32GtU().brIf(1);
    if (vectors === 0) code.f32Const(0).set(sRes);
    else lanes.forEach((r) => code.v128Zero().set(r));
    code.i32Const(0).set(k0);
    code.block().loop().get(k0).get(k).i32GeU().brIf(1);
    // k1 = min(k0 + 48, k)
    code.get(k0).i32Const(MATMUL_K_BLOCK).i32Add().get(k);
    code.get(k0).i32Const(MATMUL_K_BLOCK).i32Add().get(k).i32LtU().select().set(k1);
    if (vectors === 0) code.f32Const(0).set(sAcc);
    else acc.slice(0, vectors).forEach((x) => code.v128Zero().set(x));
    code.get(aRow).get(k0).i32Const(2).i32Shl().i32Add().set(pa);
    code.get(bBase).get(k0).get(rowC).i32Mul().i32Add().get(j).i32Const(2).i32Shl().i32Add()
      .set(pb);
    code.get(k0).set(kk);
    code.block().loop().get(kk).get(k1).i32GeU().brIf(1);
    if (vectors === 0) {
      code.get(sAcc).get(pa).f32Load().get(pb).f32Load().f32Mul().f32Add().set(sAcc);
    } else {
      code.get(pa).v128Load32Splat().set(splat);
      acc.slice(0, vectors).forEach((x, w) => {
        code.get(x).get(splat).get(pb).v128Load(16 * w).f32x4Mul().f32x4Add().set(x);
      });
    }
    increment(code, pa, 4);
    increment(code, pb, { local: rowC });
    increment(code, kk, 1).br(0).end().end();
    // The block's partial sum joins the output (tfjs: `current + sum`, current starting at 0).
    if (vectors === 0) code.get(sRes).get(sAcc).f32Add().set(sRes);
    else lanes.forEach((r, w) => code.get(r).get(acc[w]).f32x4Add().set(r));
    code.get(k1).set(k0).br(0).end().end();
    if (vectors === 0) {
      code.get(cRow).get(j).i32Const(2).i32Shl().i32Add().get(sRes).f32Store();
    } else {
      lanes.forEach((r, w) => {
        code.get(cRow).get(j).i32Const(2).i32Shl().i32Add().get(r).v128Store(16 * w);
      });
    }
    increment(code, j, width).br(0).end().end();
  };

  code.get(k).i32Const(2).i32Shl().set(rowA);
  code.get(n).i32Const(2).i32Shl().set(rowC);
  code.get(m).get(rowC).i32Mul().set(cStride);
  code.i32Const(0).set(bi);
  code.block().loop().get(bi).get(batch).i32GeU().brIf(1);
  offset(code, aBase, a, bi, aStride);
  offset(code, bBase, b, bi, bStride);
  offset(code, cBase, out, bi, cStride);
  code.i32Const(0).set(i);
  code.block().loop().get(i).get(m).i32GeU().brIf(1);
  offset(code, aRow, aBase, i, rowA);
  offset(code, cRow, cBase, i, rowC);
  code.i32Const(0).set(j);
  columnGroup(4);
  columnGroup(1);
  columnGroup(0);
  increment(code, i, 1).br(0).end().end();
  increment(code, bi, 1).br(0).end().end();
  return { name: "batchMatMul", params: l.params, locals: l.locals, body: code };
}

/**
 * `depthwiseFilterGrad(x, dy, sums, n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, padTop,
 * padLeft)`: adds Σ x·dy of every valid tap into the float64 `sums[kh][kw][c]` (zeroed by the
 * caller), for NHWC `x` and `dy` with channel multiplier 1.
 */
function depthwiseFilterGradFunction(): FunctionDef {
  const l = new Locals();
  const [x, dy, sums, n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft] = Array.from(
    { length: 17 },
    () => l.param(I32),
  );
  const [b, y, xx, i, j, row, col, grad, pixel, tap, ch, pairs] = Array.from(
    { length: 12 },
    () => l.local(I32),
  );
  const code = new Code();
  // c rounded down to even: the channels the f64x2 pairs cover.
  code.get(c).i32Const(-2).i32And().set(pairs);
  forLoop(code, b, n, 1, () =>
    forLoop(code, y, oh, 1, () =>
      forLoop(code, xx, ow, 1, () => {
        // grad = dy + ((b·oh + y)·ow + xx)·c·4
        code.get(b).get(oh).i32Mul().get(y).i32Add().get(ow).i32Mul().get(xx).i32Add().get(c)
          .i32Mul().i32Const(2).i32Shl().get(dy).i32Add().set(grad);
        forLoop(code, i, kh, 1, () => {
          code.block();
          code.get(y).get(sh).i32Mul().get(i).get(dh).i32Mul().i32Add().get(padTop).i32Sub()
            .set(row);
          code.get(row).i32Const(0).i32LtS().brIf(0).get(row).get(h).i32GeS().brIf(0);
          forLoop(code, j, kw, 1, () => {
            code.block();
            code.get(xx).get(sw).i32Mul().get(j).get(dw).i32Mul().i32Add().get(padLeft).i32Sub()
              .set(col);
            code.get(col).i32Const(0).i32LtS().brIf(0).get(col).get(w).i32GeS().brIf(0);
            code.get(b).get(h).i32Mul().get(row).i32Add().get(w).i32Mul().get(col).i32Add()
              .get(c).i32Mul().i32Const(2).i32Shl().get(x).i32Add().set(pixel);
            code.get(i).get(kw).i32Mul().get(j).i32Add().get(c).i32Mul().i32Const(3).i32Shl()
              .get(sums).i32Add().set(tap);
            code.i32Const(0).set(ch);
            code.block().loop().get(ch).get(pairs).i32GeU().brIf(1);
            code.get(ch).i32Const(3).i32Shl().get(tap).i32Add(); // address of sums[tap + ch]
            code.get(ch).i32Const(3).i32Shl().get(tap).i32Add().v128Load();
            code.get(ch).i32Const(2).i32Shl().get(pixel).i32Add().v128Load64Zero()
              .f64x2PromoteLow();
            code.get(ch).i32Const(2).i32Shl().get(grad).i32Add().v128Load64Zero().f64x2PromoteLow();
            code.f64x2Mul().f64x2Add().v128Store();
            increment(code, ch, 2).br(0).end().end();
            // The odd last channel.
            code.block().get(ch).get(c).i32GeU().brIf(0);
            code.get(ch).i32Const(3).i32Shl().get(tap).i32Add();
            code.get(ch).i32Const(3).i32Shl().get(tap).i32Add().f64Load();
            code.get(ch).i32Const(2).i32Shl().get(pixel).i32Add().f32Load().f64PromoteF32();
            code.get(ch).i32Const(2).i32Shl().get(grad).i32Add().f32Load().f64PromoteF32();
            code.f64Mul().f64Add().f64Store().end();
            code.end();
          });
          code.end();
        });
      })));
  return { name: "depthwiseFilterGrad", params: l.params, locals: l.locals, body: code };
}

/**
 * `columnSums(a, out, rows, cols)`: `out[c] = Σ_r a[r][c]` over a row-major float32 matrix,
 * each column summed in row order from 0 (the JavaScript `columnSums` of `conv_loops.ts`, and
 * so bit-identical to it), four columns per f32x4 lane group.
 */
function columnSumsFunction(): FunctionDef {
  const l = new Locals();
  const [a, out, rows, cols] = Array.from({ length: 4 }, () => l.param(I32));
  const [r, c, row, lanesEnd] = Array.from({ length: 4 }, () => l.local(I32));
  const code = new Code();
  code.get(cols).i32Const(-4).i32And().set(lanesEnd);
  const at = (base: number, index: number) =>
    code.get(base).get(index).i32Const(2).i32Shl().i32Add();
  // out = 0, then each row added in order.
  forLoop(code, c, cols, 1, () => {
    at(out, c).f32Const(0).f32Store();
  });
  forLoop(code, r, rows, 1, () => {
    code.get(r).get(cols).i32Mul().i32Const(2).i32Shl().get(a).i32Add().set(row);
    forLoop(code, c, lanesEnd, 4, () => {
      at(out, c);
      at(out, c).v128Load();
      at(row, c).v128Load().f32x4Add().v128Store();
    });
    // The last 0–3 columns; c stands at lanesEnd.
    code.get(lanesEnd).set(c);
    code.block().loop().get(c).get(cols).i32GeU().brIf(1);
    at(out, c);
    at(out, c).f32Load();
    at(row, c).f32Load().f32Add().f32Store();
    increment(code, c, 1).br(0).end().end();
  });
  return { name: "columnSums", params: l.params, locals: l.locals, body: code };
}

/** Every function of the SIMD module. */
export function simdFunctionDefs(): FunctionDef[] {
  return [
    adamwFunction(),
    emaFunction(),
    batchMatMulFunction(),
    depthwiseFilterGradFunction(),
    columnSumsFunction(),
    reluGradFunction(),
  ];
}
