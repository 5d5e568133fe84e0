/**
 * A small WebAssembly binary writer: just enough of the format (MVP plus 128-bit SIMD) to build
 * our kernels' module at start-up, in code, without a toolchain. The module imports tfjs's wasm
 * memory (`env.memory`) so that its functions read and write tensors where they lie.
 *
 * The instructions are methods of {@linkcode Code}, named as in the text format (`f32x4.add` is
 * `f32x4Add`); structured control (`block`, `loop`, `end`) nests exactly as in the text format.
 * An invalid body is reported by `new WebAssembly.Module` when the module is compiled.
 *
 * @module
 */

/** WebAssembly value types. */
export const I32 = 0x7f;
/** 32-bit float. */
export const F32 = 0x7d;
/** 64-bit float. */
export const F64 = 0x7c;
/** 128-bit vector. */
export const V128 = 0x7b;

/** A value type byte ({@linkcode I32}, {@linkcode F32} or {@linkcode V128}). */
export type ValueType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  while (true) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

const SIMD = 0xfd;

/** The instruction sequence of one function body. Every method appends and returns `this`. */
export class Code {
  readonly bytes: number[] = [];

  #op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }
  #simd(opcode: number, ...rest: number[]): this {
    return this.#op(SIMD, ...unsignedLeb(opcode), ...rest);
  }
  /** A memory argument: alignment exponent (a hint) and constant byte offset. */
  #memarg(align: number, offset: number): number[] {
    return [...unsignedLeb(align), ...unsignedLeb(offset)];
  }

  /** `block` with no result. */
  block(): this {
    return this.#op(0x02, 0x40);
  }
  /** `loop` with no result. */
  loop(): this {
    return this.#op(0x03, 0x40);
  }
  /** Closes the innermost `block` or `loop` (and, last, the function body). */
  end(): this {
    return this.#op(0x0b);
  }
  /** Branches to the label `depth` levels out (a loop's label restarts it). */
  br(depth: number): this {
    return this.#op(0x0c, ...unsignedLeb(depth));
  }
  /** Branches when the i32 on the stack is not zero. */
  brIf(depth: number): this {
    return this.#op(0x0d, ...unsignedLeb(depth));
  }
  /** `select`: the first operand when the i32 condition is not zero, else the second. */
  select(): this {
    return this.#op(0x1b);
  }

  /** `local.get`. */
  get(local: number): this {
    return this.#op(0x20, ...unsignedLeb(local));
  }
  /** `local.set`. */
  set(local: number): this {
    return this.#op(0x21, ...unsignedLeb(local));
  }

  /** `i32.const`. */
  i32Const(value: number): this {
    return this.#op(0x41, ...signedLeb(value));
  }
  /** `i32.add`. */
  i32Add(): this {
    return this.#op(0x6a);
  }
  /** `i32.sub`. */
  i32Sub(): this {
    return this.#op(0x6b);
  }
  /** `i32.mul`. */
  i32Mul(): this {
    return this.#op(0x6c);
  }
  /** `i32.and`. */
  i32And(): this {
    return this.#op(0x71);
  }
  /** `i32.shl`. */
  i32Shl(): this {
    return this.#op(0x74);
  }
  /** `i32.lt_s`. */
  i32LtS(): this {
    return this.#op(0x48);
  }
  /** `i32.ge_s`. */
  i32GeS(): this {
    return this.#op(0x4e);
  }
  /** `i32.lt_u`. */
  i32LtU(): this {
    return this.#op(0x49);
  }
  /** `i32.gt_u`. */
  i32GtU(): this {
    return this.#op(0x4b);
  }
  /** `i32.ge_u`. */
  i32GeU(): this {
    return this.#op(0x4f);
  }

  /** `f32.load` (4-byte aligned hint). */
  f32Load(offset = 0): this {
    return this.#op(0x2a, ...this.#memarg(2, offset));
  }
  /** `f32.store`. */
  f32Store(offset = 0): this {
    return this.#op(0x38, ...this.#memarg(2, offset));
  }
  /** `f32.const`. */
  f32Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return this.#op(0x43, ...bytes);
  }
  /** `f32.add`. */
  f32Add(): this {
    return this.#op(0x92);
  }
  /** `f32.mul`. */
  f32Mul(): this {
    return this.#op(0x94);
  }

  /** `f64.load`. */
  f64Load(offset = 0): this {
    return this.#op(0x2b, ...this.#memarg(3, offset));
  }
  /** `f64.store`. */
  f64Store(offset = 0): this {
    return this.#op(0x39, ...this.#memarg(3, offset));
  }
  /** `f64.add`. */
  f64Add(): this {
    return this.#op(0xa0);
  }
  /** `f64.mul`. */
  f64Mul(): this {
    return this.#op(0xa2);
  }
  /** `f64.promote_f32` (exact). */
  f64PromoteF32(): this {
    return this.#op(0xbb);
  }

  /** `v128.load` (no alignment promised: tfjs's tensors are 4-byte aligned). */
  v128Load(offset = 0): this {
    return this.#simd(0x00, ...this.#memarg(0, offset));
  }
  /** `v128.load32_splat`: one float loaded into every lane. */
  v128Load32Splat(offset = 0): this {
    return this.#simd(0x09, ...this.#memarg(2, offset));
  }
  /** `v128.load64_zero`: two floats into the low half, zeros above. */
  v128Load64Zero(offset = 0): this {
    return this.#simd(0x5d, ...this.#memarg(3, offset));
  }
  /** `v128.store`. */
  v128Store(offset = 0): this {
    return this.#simd(0x0b, ...this.#memarg(0, offset));
  }
  /** `v128.const` of sixteen zero bytes. */
  v128Zero(): this {
    return this.#simd(0x0c, ...new Array(16).fill(0));
  }
  /** `f32x4.gt`: all ones in each lane where the first operand is greater, else zeros. */
  f32x4Gt(): this {
    return this.#simd(0x44);
  }
  /** `v128.and`. */
  v128And(): this {
    return this.#simd(0x4e);
  }
  /** `f32x4.splat`. */
  f32x4Splat(): this {
    return this.#simd(0x13);
  }
  /** `f64x2.promote_low_f32x4`: the two low float lanes as doubles (exact). */
  f64x2PromoteLow(): this {
    return this.#simd(0x5f);
  }
  /** `f64x2.add`. */
  f64x2Add(): this {
    return this.#simd(0xf0);
  }
  /** `f64x2.mul`. */
  f64x2Mul(): this {
    return this.#simd(0xf2);
  }
  /** `f32x4.sqrt` (correctly rounded, as `f32.sqrt`). */
  f32x4Sqrt(): this {
    return this.#simd(0xe3);
  }
  /** `f32x4.add`. */
  f32x4Add(): this {
    return this.#simd(0xe4);
  }
  /** `f32x4.sub`. */
  f32x4Sub(): this {
    return this.#simd(0xe5);
  }
  /** `f32x4.mul`. */
  f32x4Mul(): this {
    return this.#simd(0xe6);
  }
  /** `f32x4.div` (correctly rounded). */
  f32x4Div(): this {
    return this.#simd(0xe7);
  }
}

/** Names the locals of a function as they are declared. */
export class Locals {
  readonly params: ValueType[] = [];
  readonly locals: ValueType[] = [];
  /** A new parameter of `type`; returns its local index. */
  param(type: ValueType): number {
    this.params.push(type);
    return this.params.length - 1;
  }
  /** A new local of `type` after the parameters; returns its index. */
  local(type: ValueType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }
}

/** `local += step` for an i32 local. */
export function increment(code: Code, local: number, step: number | { local: number }): Code {
  code.get(local);
  if (typeof step === "number") code.i32Const(step);
  else code.get(step.local);
  return code.i32Add().set(local);
}

/**
 * `for (counter = 0; counter + step <= limit; counter += step) body()`, with i32 locals
 * `counter` and `limit`.
 */
export function forLoop(
  code: Code,
  counter: number,
  limit: number,
  step: number,
  body: () => void,
): void {
  code.i32Const(0).set(counter);
  code.block().loop().get(counter).i32Const(step - 1).i32Add().get(limit).i32GeU().brIf(1);
  body();
  increment(code, counter, step).br(0).end().end();
}

/** One exported function of a module. */
export interface FunctionDef {
  /** The export name. */
  name: string;
  /** Parameter types; parameters are locals 0 … n−1. */
  params: ValueType[];
  /** Further locals, numbered after the parameters. */
  locals: ValueType[];
  /** The body, without its final `end` (the writer adds it). No results. */
  body: Code;
}

/**
 * The bytes of a module that imports `env.memory` and exports `functions`. `sharedMemory`
 * declares the import shared (the threaded tfjs build's memory is; the other build's is not),
 * with a 4 GiB maximum, so that any tfjs memory matches it.
 */
export function buildModule(
  functions: FunctionDef[],
  sharedMemory: boolean,
): Uint8Array<ArrayBuffer> {
  const signatures = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), 0x00]);
  const limits = sharedMemory ? [0x03, 0x00, ...unsignedLeb(65536)] : [0x00, 0x00];
  const memoryImport = [...utf8("env"), ...utf8("memory"), 0x02, ...limits];
  const bodies = functions.map((f) => {
    const locals = vector(f.locals.map((t) => [0x01, t]));
    const content = [...locals, ...f.body.bytes, 0x0b];
    return [...unsignedLeb(content.length), ...content];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(signatures)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vector(functions.map((f, i) => [...utf8(f.name), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}
