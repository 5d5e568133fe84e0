/**
 * Photometric transforms: normalisation and the DACS strong augmentation with kornia 0.5.8's
 * semantics (`shared/reference/daformer_hrda_mic.md` §2.3, §10.6), on float RGB images in [0, 1]
 * stored H×W×3 interleaved.
 *
 * @module
 */
import type { RandomStream } from "../../random.ts";

/** ImageNet mean (RGB, 0–255) of every published config's `Normalize`. */
export const IMAGENET_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
/** ImageNet standard deviation (RGB, 0–255). */
export const IMAGENET_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];

/** `(x − mean) / std` per channel of an 8-bit RGB image, as float32. */
export function normalize(
  image: Uint8Array,
  mean = IMAGENET_MEAN,
  std = IMAGENET_STD,
): Float32Array {
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = (image[i] - mean[i % 3]) / std[i % 3];
  return out;
}

/** Inverse of {@linkcode normalize}, to [0, 1] (`(x·std + mean)/255`, as DACS before jitter). */
export function denormalizeToUnit(
  image: Float32Array,
  mean = IMAGENET_MEAN,
  std = IMAGENET_STD,
): Float32Array {
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = (image[i] * std[i % 3] + mean[i % 3]) / 255;
  return out;
}

const TWO_PI = 2 * Math.PI;

function floorMod(a: number, n: number): number {
  return a - n * Math.floor(a / n);
}

/** kornia 0.5.8 `rgb_to_hsv` for one pixel: H in radians [0, 2π), S, V. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : delta / v;
  const d = delta === 0 ? 1 : delta;
  // The first maximal channel picks the formula (kornia's cumsum trick), ties favour R, then G.
  let h: number;
  if (r === v) h = (v - b - (v - g)) / d;
  else if (g === v) h = ((v - r) - (v - b) + 2 * delta) / d;
  else h = ((v - g) - (v - r) + 4 * delta) / d;
  return [TWO_PI * floorMod(h / 6, 1), s, v];
}

/** kornia 0.5.8 `hsv_to_rgb` for one pixel. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  hsvToRgbInto(h, s, v, out);
  return out;
}

/** {@linkcode hsvToRgb} writing into `out` (no allocation on the per-pixel path). */
function hsvToRgbInto(h: number, s: number, v: number, out: number[]): void {
  const turns = h / TWO_PI;
  const sector = floorMod(Math.floor(turns * 6), 6);
  const f = floorMod(turns * 6, 6) - sector;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  // kornia gathers (r, g, b) from (v,q,p,p,t,v), (t,v,v,q,p,p), (p,p,t,v,v,q) by sector.
  switch (sector) {
    case 0:
      out[0] = v, out[1] = t, out[2] = p;
      break;
    case 1:
      out[0] = q, out[1] = v, out[2] = p;
      break;
    case 2:
      out[0] = p, out[1] = v, out[2] = t;
      break;
    case 3:
      out[0] = p, out[1] = q, out[2] = v;
      break;
    case 4:
      out[0] = t, out[1] = p, out[2] = v;
      break;
    default:
      out[0] = v, out[1] = p, out[2] = q;
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** The factors of one colour-jitter call. */
export interface JitterFactors {
  /** Brightness factor b (applied additively as b − 1). */
  brightness: number;
  /** Contrast factor c (multiplicative, not mean-centred). */
  contrast: number;
  /** Saturation factor s (multiplies HSV saturation). */
  saturation: number;
  /** Hue shift in turns, h (added to HSV hue as h·2π radians). */
  hue: number;
  /** Order of the four operations: indices into [brightness, contrast, saturation, hue]. */
  order: [number, number, number, number];
}

/** Strengths of `ColorJitter(brightness, contrast, saturation, hue)`; DACS uses 0.2 for all. */
export interface JitterStrength {
  /** Brightness range ±. */
  brightness: number;
  /** Contrast range ±. */
  contrast: number;
  /** Saturation range ±. */
  saturation: number;
  /** Hue range ± (turns). */
  hue: number;
}

/** DACS: `ColorJitter(0.2, 0.2, 0.2, 0.2)` (`color_jitter_strength=0.2`). */
export const DACS_JITTER: Readonly<JitterStrength> = Object.freeze({
  brightness: 0.2,
  contrast: 0.2,
  saturation: 0.2,
  hue: 0.2,
});

/** Draws one call's factors: b, c, s ∈ U(1 − x, 1 + x), h ∈ U(−x, x), a random permutation. */
export function drawJitter(strength: JitterStrength, rng: RandomStream): JitterFactors {
  return {
    brightness: rng.uniform(1 - strength.brightness, 1 + strength.brightness),
    contrast: rng.uniform(1 - strength.contrast, 1 + strength.contrast),
    saturation: rng.uniform(1 - strength.saturation, 1 + strength.saturation),
    hue: rng.uniform(-strength.hue, strength.hue),
    order: rng.shuffle([0, 1, 2, 3]) as [number, number, number, number],
  };
}

/**
 * Applies colour jitter in place to a [0, 1] RGB image with kornia 0.5.8's semantics: brightness
 * `x + (b − 1)`, contrast `x·c`, saturation `S·s`, hue `fmod(H + h·2π, 2π)`, in the drawn order,
 * clamping to [0, 1] after each operation.
 */
export function applyJitter(image: Float32Array, factors: JitterFactors): Float32Array {
  const rgb = [0, 0, 0];
  const shift = factors.brightness - 1;
  const hueShift = factors.hue * TWO_PI;
  for (const op of factors.order) {
    for (let i = 0; i < image.length; i += 3) {
      if (op === 0) {
        for (let c = 0; c < 3; c++) image[i + c] = clamp01(image[i + c] + shift);
      } else if (op === 1) {
        for (let c = 0; c < 3; c++) image[i + c] = clamp01(image[i + c] * factors.contrast);
      } else {
        const [h, s, v] = rgbToHsv(image[i], image[i + 1], image[i + 2]);
        if (op === 2) hsvToRgbInto(h, clamp01(s * factors.saturation), v, rgb);
        else hsvToRgbInto((h + hueShift) % TWO_PI, s, v, rgb); // torch.fmod keeps the dividend's sign
        for (let c = 0; c < 3; c++) image[i + c] = clamp01(rgb[c]);
      }
    }
  }
  return image;
}

/** DACS's blur kernel size: the largest odd integer ≤ ⌈0.1·size⌉ (51 for 512 px). */
export function blurKernelSize(size: number): number {
  const k = Math.ceil(0.1 * size);
  return k % 2 === 1 ? k : k - 1;
}

/** A normalised 1-D Gaussian of odd length `size` (kornia `get_gaussian_kernel1d`). */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  const out = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    out[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += out[i];
  }
  return out.map((v) => v / sum);
}

/** numpy/kornia `reflect` index (mirror without repeating the edge) into [0, n). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = floorMod(i, period);
  return m < n ? m : period - m;
}

/**
 * Separable Gaussian blur with σ for both axes and the DACS kernel sizes, reflect border
 * (kornia `GaussianBlur2d(..., border_type="reflect")`), or one odd `kernelSize` for both axes
 * (torchvision's `GaussianBlur(k)`, as PiPa's crop augmentation uses). Works on any HWC float
 * image.
 */
export function gaussianBlur(
  image: Float32Array,
  width: number,
  height: number,
  channels: number,
  sigma: number,
  kernelSize?: number,
): Float32Array {
  const kx = gaussianKernel(kernelSize ?? blurKernelSize(width), sigma);
  const ky = gaussianKernel(kernelSize ?? blurKernelSize(height), sigma);
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  // Reflected source indices, computed once per axis instead of per tap.
  const cols = Int32Array.from({ length: width + 2 * rx }, (_, i) => reflect(i - rx, width));
  const rows = Int32Array.from({ length: height + 2 * ry }, (_, i) => reflect(i - ry, height));
  const tmp = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < kx.length; k++) {
          acc += kx[k] * image[(row + cols[x + k]) * channels + c];
        }
        tmp[(row + x) * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < ky.length; k++) {
          acc += ky[k] * tmp[(rows[y + k] * width + x) * channels + c];
        }
        out[(y * width + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/** DACS's blur σ ~ U(0.15, 1.15). */
export function drawBlurSigma(rng: RandomStream): number {
  return rng.uniform(0.15, 1.15);
}
