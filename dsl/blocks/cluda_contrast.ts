/**
 * CLUDA (Vayyat et al., 2022, arXiv 2208.14227): a full-batch supervised contrast on the
 * decoder's fused features of the source crop and of the mixed image, at temperature 1, where
 * on HRDA each context (LR) anchor is contrasted both with the context features and with the
 * detail (HR) features, weighted per pixel by a learned LR/HR weight. Defaults are the paper's
 * intent as `shared/reference/pipa_cluda.md` §5 and §8.1 read it; each behaviour of the
 * released code (user0407/CLUDA @ bad6ed0) that changes results is a named field.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { bool, int, num, oneOf } from "../schema.ts";
import type { Issue } from "../issues.ts";
import { IGNORE_MODES } from "./pixel_contrast.ts";

/**
 * `multi`: CLUDA on HRDA (`multi_resolution_cl`), context anchors against context and detail
 * features; `single`: the single-resolution form (`contrastive_loss`) on the decoder's features,
 * for a model without multi-resolution (DAFormer; the authors never released it, issue
 * user0407/CLUDA#5).
 */
export const CLUDA_RESOLUTIONS = ["multi", "single"] as const;

/**
 * Which pixels count as inside the detail crop (m): `crop`, the crop box (the paper's intent);
 * `labelNonZero`, the released `m = [nearest(mask · y) ≠ 0]`, which also counts the road
 * (class 0) inside the crop as outside.
 */
export const CROP_INDICATORS = ["crop", "labelNonZero"] as const;

/**
 * How feature rows meet their labels: `aligned` (pixel by pixel); `released`, the order of the
 * released code, which concatenates the features pixel-major (`torch.cat(torch.unbind(f, 1))`)
 * but the labels, weights and m image-major, so for a batch above 1 a feature meets another
 * pixel's label (read from `contrastive_loss.py`; the specification does not mention it).
 */
export const ROW_ORDERS = ["aligned", "released"] as const;

/** Parameters of {@linkcode cludaContrast}. */
export interface CludaContrastParams {
  /** See {@linkcode CLUDA_RESOLUTIONS}. */
  resolution: (typeof CLUDA_RESOLUTIONS)[number];
  /** Weight of the source term (1: added without λ, §5.4); `mixedWeight` is the mixed term's. */
  weight: number;
  /** Weight of the mixed-image term (1). */
  mixedWeight: number;
  /** Side of the square grid the features are resized to (65 for 1024² crops, `fm_size`). */
  grid: number;
  /**
   * First (zero-based) iteration whose mixed image takes its detail crop where the context
   * prediction's entropy is highest (12001: the released `local_iter > 12000`, 30% of 40k);
   * before it, and always on the source, HRDA's random crop. Multi-resolution only.
   */
  entropyCropFrom: number;
  /** See {@linkcode CROP_INDICATORS}. */
  cropIndicator: (typeof CROP_INDICATORS)[number];
  /** `drop`: pixels labelled 255 take no part (paper intent); `class`: 255 is one more class, as released. */
  ignoreLabel: (typeof IGNORE_MODES)[number];
  /** The released stuff/thing multiplication of the positives (a no-op there too). */
  stuffThingMask: boolean;
  /** See {@linkcode ROW_ORDERS}. */
  rowOrder: (typeof ROW_ORDERS)[number];
  /**
   * Anchor rows per chunk of the similarity matrices (256), forward and backward: the loss's peak
   * memory grows with rowChunk × N, not N² (389 MiB with its gradient at the paper's N = 8450,
   * 1381 MiB at 1024 rows; `docs/cluda.md`, "Memory").
   */
  rowChunk: number;
}

/** A {@linkcode cludaContrast} block. */
export type CludaContrastBlock = Block<"cludaContrast", CludaContrastParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** CLUDA's (multi-resolution) contrast. */
    cludaContrast: CludaContrastBlock;
  }
}

/**
 * CLUDA's contrast of the decoder's fused features on the source crop and the mixed image: every
 * pixel of a fixed grid an anchor, positives of the same (mixed) label across the batch, τ = 1;
 * on HRDA the learned LR/HR weight W and the confidence weight Γ of the mixed image.
 */
export const cludaContrast = defineBlock<"cludaContrast", CludaContrastParams>({
  kind: "cludaContrast",
  family: "loss",
  summary: "CLUDA contrast of fused decoder features (multi-resolution on HRDA)",
  schema: {
    resolution: oneOf(CLUDA_RESOLUTIONS, "multi"),
    weight: num(1, { min: 0 }),
    mixedWeight: num(1, { min: 0 }),
    grid: int(65, 2),
    entropyCropFrom: int(12001, 0),
    cropIndicator: oneOf(CROP_INDICATORS, "crop"),
    ignoreLabel: oneOf(IGNORE_MODES, "drop"),
    stuffThingMask: bool(false),
    rowOrder: oneOf(ROW_ORDERS, "aligned"),
    rowChunk: int(256, 1),
  },
  views: () => ["source", "mixed"],
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    const hrda = experiment.resolution?.kind === "multiResolution";
    if (block.resolution === "multi" && !hrda) {
      issues.push({
        path: `${path}.resolution`,
        message: `"multi" contrasts HRDA's context and detail features, but the model has no ` +
          `multi-resolution; add resolution: multiResolution(), or use resolution: "single"`,
      });
    }
    if (block.resolution === "single" && hrda) {
      issues.push({
        path: `${path}.resolution`,
        message: `"single" ignores HRDA's detail features; use resolution: "multi" on HRDA`,
      });
    }
    if (experiment.mixing === undefined) {
      issues.push({
        path: `${path}.mixedWeight`,
        message: `the mixed-image term reads ClassMix's mixed batch, but the experiment has no ` +
          `mixing; add mixing: classMix()`,
      });
    }
    return issues;
  },
});
