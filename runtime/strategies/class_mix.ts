/**
 * ClassMix (Olsson et al. 2021) as DACS and DAFormer use it (`shared/reference/
 * daformer_hrda_mic.md` §2.2): for each image of the batch, half of the source classes (⌈n/2⌉,
 * drawn without replacement) are pasted from the source image onto the target image of the same
 * index. Labels are the source labels there and the teacher's pseudo-labels elsewhere; weights
 * are 1 there and the pseudo-label weights elsewhere.
 *
 * The class pool is either each source image's own classes (the DACS paper) or the unique labels
 * of the whole source batch with the ignore label 255 included (the released
 * `get_class_masks`, a quirk: a class absent from image i can be chosen and paste nothing).
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";

/** Which classes the masks choose from. */
export type ClassPool = "image" | "batch";

const IGNORE = 255;

/**
 * The ClassMix masks of a source label batch `[N, H, W]`: `masks` `[N, H, W]` float32 (1 where
 * the source pixel's class was chosen) and the classes chosen per image. Reads the labels into
 * host memory to find their classes.
 */
export function classMixMasks(
  sourceLabel: tf.Tensor3D,
  rng: RandomStream,
  pool: ClassPool = "image",
): { masks: tf.Tensor3D; chosen: number[][] } {
  return masksFromHost(sourceLabel.dataSync(), sourceLabel.shape, rng, pool);
}

/**
 * {@linkcode classMixMasks} with an asynchronous read of the labels, as GPU backends need; the
 * same draws and the same masks.
 */
export async function classMixMasksAsync(
  sourceLabel: tf.Tensor3D,
  rng: RandomStream,
  pool: ClassPool = "image",
): Promise<{ masks: tf.Tensor3D; chosen: number[][] }> {
  return masksFromHost(await sourceLabel.data(), sourceLabel.shape, rng, pool);
}

/** The masks of a label batch already in host memory. */
function masksFromHost(
  labels: ArrayLike<number>,
  shape: [number, number, number],
  rng: RandomStream,
  pool: ClassPool,
): { masks: tf.Tensor3D; chosen: number[][] } {
  const [n, height, width] = shape;
  const size = height * width;
  const unique = (from: number, to: number, keepIgnore: boolean) => {
    const seen = new Set<number>();
    for (let i = from; i < to; i++) seen.add(labels[i]);
    if (!keepIgnore) seen.delete(IGNORE);
    return [...seen].sort((a, b) => a - b);
  };
  const batchClasses = pool === "batch" ? unique(0, n * size, true) : [];
  const masks = new Float32Array(n * size);
  const chosen: number[][] = [];
  for (let k = 0; k < n; k++) {
    const classes = pool === "batch" ? batchClasses : unique(k * size, (k + 1) * size, false);
    const picked = rng.shuffle([...classes]).slice(0, Math.ceil(classes.length / 2));
    picked.sort((a, b) => a - b);
    chosen.push(picked);
    const set = new Set(picked);
    for (let i = k * size; i < (k + 1) * size; i++) masks[i] = set.has(labels[i]) ? 1 : 0;
  }
  return { masks: tf.tensor3d(masks, [n, height, width]), chosen };
}

/**
 * Mixes a batch: image `M·source + (1 − M)·target`, label `M ? source : target`, weight
 * `M ? 1 : target weight`; source image i is pasted onto target image i.
 */
export function mixBatch(
  masks: tf.Tensor3D,
  source: { image: tf.Tensor4D; label: tf.Tensor3D },
  target: { image: tf.Tensor4D; label: tf.Tensor3D; weight: tf.Tensor3D },
): { image: tf.Tensor4D; label: tf.Tensor3D; weight: tf.Tensor3D } {
  return tf.tidy(() => {
    const paste = tf.cast(masks, "bool") as tf.Tensor3D;
    const paste4 = tf.expandDims(masks, -1);
    const image = tf.add(
      tf.mul(paste4, source.image),
      tf.mul(tf.sub(1, paste4), target.image),
    ) as tf.Tensor4D;
    const label = tf.where(paste, tf.cast(source.label, "int32"), tf.cast(target.label, "int32"));
    const weight = tf.where(paste, tf.onesLike(target.weight), target.weight);
    return { image, label: label as tf.Tensor3D, weight: weight as tf.Tensor3D };
  });
}
