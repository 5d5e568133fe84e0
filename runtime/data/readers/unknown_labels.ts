/**
 * Label values outside a dataset's id space: a Cityscapes `labelIds` value of 99, a GTA5 palette
 * index of 200, a SYNTHIA class of 300. The reference converters map them to 255 without a word;
 * here the mapping stays exactly the same (they still become 255), but each file that holds such
 * values is reported once per process with the values and their pixel counts, or refused in
 * strict mode (`label_policy.ts`). Valid ids without a train class (Cityscapes 0 "unlabeled",
 * SYNTHIA 22 "lanemarking") are not unknown: they are ignored by design.
 *
 * @module
 */
import { IGNORE_LABEL } from "../labels.ts";
import { STRICT_LABELS_FLAG } from "../label_policy.ts";
import { warnOnce } from "../warnings.ts";

/** The ids a kind of label file can hold, and what to tell the user about a file that breaks it. */
export interface IdSpace {
  /** Values `0..count-1` are ids of the dataset (with or without a train class). */
  count: number;
  /** What an id is called in messages, e.g. `Cityscapes label id`. */
  name: string;
  /** One sentence on what such a file probably is and how to fix it. */
  advice: string;
}

/** How many values a message lists before it summarises the rest. */
const LISTED_VALUES = 8;

/** Pixel count of every value `>= idCount`, by value (empty when the file is clean). */
export function countUnknown(ids: ArrayLike<number>, idCount: number): Map<number, number> {
  const unknown = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (v >= idCount) unknown.set(v, (unknown.get(v) ?? 0) + 1);
  }
  return unknown;
}

/** `5 of 12 pixels hold values that are no Cityscapes label id (0–33): 99: 4 px, 140: 1 px.` */
export function describeUnknown(
  unknown: ReadonlyMap<number, number>,
  pixels: number,
  space: IdSpace,
): string {
  const values = [...unknown.entries()].sort((a, b) => a[0] - b[0]);
  const total = values.reduce((sum, [, n]) => sum + n, 0);
  const listed = values.slice(0, LISTED_VALUES).map(([v, n]) => `${v}: ${n} px`);
  const rest = values.slice(LISTED_VALUES);
  if (rest.length > 0) {
    const restPixels = rest.reduce((sum, [, n]) => sum + n, 0);
    listed.push(`and ${rest.length} more values (${restPixels} px)`);
  }
  return `${total} of ${pixels} pixels hold values that are no ${space.name} ` +
    `(0–${space.count - 1}): ${listed.join(", ")}.`;
}

/**
 * Reports the unknown values of one decoded label file: nothing when there are none, a warning
 * (once per file per process) by default, an error in strict mode. The caller's mapping has
 * already sent every unknown value to 255; this only tells the user.
 */
export function reportUnknownLabels(
  ids: ArrayLike<number>,
  file: string,
  space: IdSpace,
  strict: boolean,
): void {
  const unknown = countUnknown(ids, space.count);
  if (unknown.size === 0) return;
  const what = `${file}: ${describeUnknown(unknown, ids.length, space)}`;
  if (strict) {
    throw new Error(
      `${what} ${STRICT_LABELS_FLAG} refuses such files (without it these pixels would be ` +
        `ignored as ${IGNORE_LABEL}). ${space.advice}`,
    );
  }
  warnOnce(
    `unknown-labels:${file}`,
    `${what} They became ${IGNORE_LABEL} (ignored by the losses and the metrics). ` +
      `${space.advice} Pass ${STRICT_LABELS_FLAG} to stop at such files instead.`,
  );
}
