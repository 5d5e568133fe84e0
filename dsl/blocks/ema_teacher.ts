/**
 * The mean teacher that makes pseudo-labels for the target (DAFormer §3.4 after DACS/Mean
 * Teacher). Defaults are the published values (`shared/reference/daformer_hrda_mic.md` §1.4,
 * §2); where the released code differs from the paper, the field that chooses is named and
 * defaults to the paper's intent. Its check: some term must read what it makes.
 *
 * @module
 */
import { type Block, defineBlock, viewsRead } from "../block.ts";
import type { Issue } from "../issues.ts";
import { num, numbers, oneOf } from "../schema.ts";

/** How the pseudo-label confidence weight is pooled. */
export const CONFIDENCE_SCOPES = ["image", "batch"] as const;

/** Parameters of {@linkcode emaTeacher}. */
export interface EmaTeacherParams {
  /** EMA decay α; the schedule is α_t = min(1 − 1/(t+1), α) (0.999, DAFormer §3.4 / DACS). */
  alpha: number;
  /** Confidence threshold τ of the pseudo-label weight q (0.968, DAFormer Eq. 9). */
  threshold: number;
  /**
   * `image`: q is the fraction of confident pixels of each target image (the paper's formula);
   * `batch`: one q over the whole batch (the released `dacs.py`, §2.1 step 5).
   */
  confidence: (typeof CONFIDENCE_SCOPES)[number];
  /**
   * Pixels of each target crop whose weight is set to 0, as fractions of the crop
   * `[top, bottom, left, right]`: DAFormer's released code zeroes the top 15 and bottom 120 rows
   * of a 512 crop (§2.4; the paper does not mention it), so `[15/512, 120/512, 0, 0]`;
   * `[0, 0, 0, 0]` turns it off.
   */
  margins: readonly number[];
}

/** An {@linkcode emaTeacher} block. */
export type EmaTeacherBlock = Block<"emaTeacher", EmaTeacherParams>;

declare module "../families.ts" {
  interface TeacherBlocks {
    /** The EMA mean teacher. */
    emaTeacher: EmaTeacherBlock;
  }
}

/**
 * The mean teacher (DAFormer §3.4 after DACS/Mean Teacher): an EMA of the student's weights
 * predicts pseudo-labels for the target crop with dropout and drop-path off and BatchNorm on
 * batch statistics; each pseudo-label is weighted by the share of confident pixels q.
 */
export const emaTeacher = defineBlock<"emaTeacher", EmaTeacherParams>({
  kind: "emaTeacher",
  family: "teacher",
  summary: "EMA teacher with confidence-weighted pseudo-labels",
  schema: {
    alpha: num(0.999, { min: 0, max: 1 }),
    threshold: num(0.968, { min: 0, max: 1, exclusiveMin: true }),
    confidence: oneOf(CONFIDENCE_SCOPES, "image"),
    margins: numbers([15 / 512, 120 / 512, 0, 0], { min: 0, max: 0.5, length: 4 }),
  },
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    // Every view other than the labelled source carries pseudo-labels.
    if (![...viewsRead(experiment)].some((view) => view !== "source")) {
      issues.push({
        path,
        message: 'no loss term reads pseudo-labels; add crossEntropy({ on: "mixed" }) (or ' +
          '"target"), or remove the teacher with off',
      });
    }
    const [top, bottom, left, right] = block.margins;
    if (top + bottom >= 1 || left + right >= 1) {
      issues.push({
        path: `${path}.margins`,
        message: "the margins [top, bottom, left, right] would cover the whole crop",
      });
    }
    return issues;
  },
});
