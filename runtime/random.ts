/**
 * Seeded, splittable random streams.
 *
 * Every random decision in UDA-Lab (initialisation, dropout masks, crops, mixing masks, data
 * generation) draws from an explicit {@linkcode RandomStream}, never from `Math.random` or
 * TensorFlow.js's global seed, so that a run is a pure function of (experiment, seed, backend)
 * and a checkpoint can store every stream's state for a bit-exact resume.
 *
 * The generator is xoshiro128** (Blackman & Vigna, 2018): 128 bits of state, 32-bit outputs,
 * fast in JavaScript's 32-bit integer arithmetic. Seeds are expanded with splitmix32.
 *
 * This module imports nothing from TensorFlow.js, so data generation and the DSL may use it.
 *
 * @module
 */

/** The serialisable state of a {@linkcode RandomStream}: four unsigned 32-bit words. */
export type RandomState = readonly [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of `text`, used to turn fork labels into seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A deterministic stream of random numbers.
 *
 * ```ts
 * const rng = new RandomStream(0);
 * const crop = rng.fork("crop");      // an independent child stream
 * const x = crop.uniform(0, 10);
 * ```
 */
export class RandomStream {
  #s: Uint32Array;
  #spareNormal: number | undefined;

  /** Seeds a stream from an integer seed, or restores one from a saved {@linkcode RandomState}. */
  constructor(seed: number | RandomState) {
    this.#s = new Uint32Array(4);
    if (typeof seed === "number") {
      if (!Number.isFinite(seed)) {
        throw new RangeError(`RandomStream: seed must be finite, got ${seed}`);
      }
      const next = splitmix32(Math.floor(seed) >>> 0 ^ Math.floor(seed / 2 ** 32));
      for (let i = 0; i < 4; i++) this.#s[i] = next();
      if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
    } else {
      if (seed.length !== 4) throw new RangeError("RandomStream: a saved state has four words");
      for (let i = 0; i < 4; i++) this.#s[i] = seed[i] >>> 0;
    }
  }

  /** The current state; `new RandomStream(stream.state)` continues exactly where this one is. */
  get state(): RandomState {
    return [this.#s[0], this.#s[1], this.#s[2], this.#s[3]];
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A float in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** An integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) {
      throw new RangeError(`RandomStream.int: n must be a positive integer, got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextUint32(); while (x >= limit);
    return x % n;
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** A standard normal sample (Box–Muller; the second value is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.#spareNormal !== undefined) {
      const z = this.#spareNormal;
      this.#spareNormal = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `out` (or a new array of `n`) with uniform samples in [low, high). */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.next();
    return out;
  }

  /** `n` normal samples with the given mean and standard deviation. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** Picks an index with probability proportional to `weights` (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    if (!(total > 0)) {
      throw new RangeError("RandomStream.categorical: weights must have a positive sum");
    }
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /**
   * An independent child stream named by `label`. The child depends only on this stream's
   * current state and the label, and forking does not advance this stream, so adding a new
   * consumer never shifts the numbers existing consumers see.
   */
  fork(label: string | number): RandomStream {
    const h = typeof label === "number" ? label >>> 0 : hashString(label);
    const next = splitmix32(
      h ^ this.#s[0] ^ rotl(this.#s[1], 7) ^ rotl(this.#s[2], 13) ^ rotl(this.#s[3], 21),
    );
    const child = new RandomStream([next(), next(), next(), next()]);
    if ((child.#s[0] | child.#s[1] | child.#s[2] | child.#s[3]) === 0) child.#s[0] = 1;
    return child;
  }
}
