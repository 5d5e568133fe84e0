/**
 * PiPa's patch-contrast runtime module (`shared/reference/pipa_cluda.md` §2, §8.1): the crop
 * views, two networks and the term.
 *
 * - Views `<term>.crop1` and `<term>.crop2`: the overlapping pair of each target image
 *   (`strategies/overlapping_crops.ts`), from `startIteration` on (before it they are the target
 *   batch itself and nothing runs on them).
 * - Network `patchContrast`: the projection `project.0` (1×1 conv C→C) → ReLU → `project.2`
 *   (1×1 conv C→d), trained in the default group (its name has no `head`, as in the reference).
 * - Network `patchBank`: the FIFO memory of negatives, `bankSteps` blocks of 2 × negativesPerCrop
 *   features and pseudo-labels (−1: empty), and the next block to overwrite. It is a network's
 *   buffers so that checkpoints carry it and a resumed run contrasts against the same memory.
 * - The term: the decoder embedding of each crop (the student's, with gradient, or the teacher's)
 *   pooled to stride 8 and projected; the teacher's softmax on each crop at the same positions
 *   for ŷ and c; the overlap positions of both crops; this step's negatives (a random subset of
 *   each crop's whole map) in the block the hook then writes; L¹ + L².
 *
 * @module
 */
import type { Block, PatchContrastParams, SemanticPatchContrastParams } from "../../dsl/mod.ts";
import { tf } from "../tf.ts";
import { ParamStore } from "../nn/params.ts";
import {
  contrastSimilarities,
  directionalContrast,
  gridPseudoLabels,
  type Negatives,
  stopGradient,
  taskSmartNegatives,
  toGrid,
} from "../losses/patch_contrast.ts";
import type { MemoryEntries } from "../strategies/semantic_memory.ts";
import {
  padNegatives,
  sampleIndices,
  spliceBank,
  spliceRows,
  withMemory,
} from "./patch_negatives.ts";
import { shareSemanticMemory } from "./semantic_memory_network.ts";
import { cropPairs, overlapIndices, type PairGeometry } from "../strategies/overlapping_crops.ts";
import type { KernelUse } from "../compile/kernels.ts";
import { decoderProjectionNetwork, projectDecoderFeatures } from "./decoder_projection.ts";
import { registerBlockModule } from "./registry.ts";
import {
  passId,
  type PassRequest,
  type Place,
  type ProgramBuilder,
  type StepContext,
} from "./types.ts";

type PatchContrastBlock =
  | Block<"patchContrast", PatchContrastParams>
  | Block<"semanticPatchContrast", SemanticPatchContrastParams>;

/** The projection's network. */
const PROJECTION = "patchContrast";
/** Its parameters' prefix (`project.0`, `project.2`, as the reference names them). */
const PREFIX = "project";
/** The memory bank's network. */
const BANK = "patchBank";
/** Positions are compared on the crops' stride-8 grid (PiPa's `//8` indexing). */
const GRID_STRIDE = 8;

/** Kernels beyond the segmentor's and the teacher's. */
export const PATCH_CONTRAST_KERNELS: KernelUse = {
  differentiated: ["AvgPool", "BatchMatMul", "Exp", "GatherV2", "Log", "Neg", "Rsqrt", "Slice"],
  backward: [
    "ArgMax",
    "AvgPoolGrad",
    "Cast",
    "Concat",
    "ExpandDims",
    "Fill",
    "Greater",
    "GreaterEqual",
    "Less",
    "LogicalAnd",
    "Max",
    "NotEqual",
    "PadV2",
    "Reverse",
    "Softmax",
    "UnsortedSegmentSum",
    "ZerosLike",
  ],
};

/** The crop side: `cropFraction` of the shorter side, down to a multiple of 16. */
export function patchCropSize(
  block: Pick<PatchContrastParams, "cropFraction">,
  height: number,
  width: number,
): number {
  const side = Math.floor((block.cropFraction * Math.min(height, width)) / 16) * 16;
  if (side < 16) {
    throw new Error(
      `patchContrast: cropFraction ${block.cropFraction} of a ${height}×${width} target crop ` +
        `is below 16 px; raise cropFraction or the target crop`,
    );
  }
  return side;
}

/** What one step's view hands its term and hook. */
interface StepPair {
  iteration: number;
  geometries: PairGeometry[];
  grid: number;
  /** The bank block this step writes (read when the view is built: GPU reads are asynchronous). */
  next: number;
  /** This step's negatives, written into the bank after the update. */
  negatives?: Negatives;
  /** Their teacher confidences (the semantic memory admits confident ones only). */
  confidence?: tf.Tensor1D;
  /** With the semantic memory: its entries at this step. */
  memory?: MemoryEntries;
}

/** Frees a step's kept negatives (after the hook wrote them, or when the step never got there). */
function disposePending(pair: StepPair | undefined): void {
  if (pair?.negatives === undefined) return;
  tf.dispose([
    pair.negatives.features,
    pair.negatives.labels,
    ...(pair.confidence ? [pair.confidence] : []),
  ]);
  pair.negatives = undefined;
  pair.confidence = undefined;
}

/**
 * Lowers PiPa's patch contrast, or PiPa++'s variant whose negatives are the shared semantic
 * memory's (`semanticPatchContrast`: the same views, projection and loss).
 */
function lowerPatchContrast(
  block: PatchContrastBlock,
  builder: ProgramBuilder,
  place: Place,
): void {
  const term = place.term!;
  const views = [`${term}.crop1`, `${term}.crop2`] as const;
  const perStep = 2 * block.negativesPerCrop;
  const bankSteps = block.kind === "patchContrast" ? block.bankSteps : 0;
  const capacity = bankSteps * perStep;
  const taskSmart = block.kind === "semanticPatchContrast" && block.sampling === "taskSmart";
  let pair: StepPair | undefined;
  const semantic = block.kind === "semanticPatchContrast"
    ? shareSemanticMemory(builder, {
      capacity: block.memoryCapacity,
      dim: block.projectionDim,
      threshold: block.memoryThreshold,
      perClassPerPush: block.memoryPerStep,
    }, place.path)
    : undefined;

  builder.addNetwork(decoderProjectionNetwork({
    name: PROJECTION,
    prefix: PREFIX,
    dim: block.projectionDim,
    title: "PiPa's patch projection",
  }));
  if (semantic === undefined) {
    builder.addNetwork({
      name: BANK,
      trainable: false,
      checkpointed: true,
      exported: false,
      describe: () =>
        `PiPa's memory bank: ${bankSteps} steps × ${perStep} negatives of ` +
        `${block.projectionDim} dimensions`,
      build() {
        const params = new ParamStore();
        params.add("bank.features", tf.zeros([capacity, block.projectionDim]), "plain", false);
        params.add("bank.labels", tf.fill([capacity], -1), "plain", false);
        params.add("bank.next", tf.zeros([1]), "plain", false);
        return Promise.resolve({ params });
      },
    });
  }

  const started = (context: StepContext) => context.iteration >= block.startIteration;
  const teacherPass = (k: number): PassRequest => ({
    network: "teacher",
    view: views[k],
    training: false,
    batchStatistics: true,
    startIteration: block.startIteration,
  });
  const featurePass = (k: number): PassRequest =>
    block.features === "student"
      ? { network: "student", view: views[k], training: true }
      : teacherPass(k);
  let second: tf.Tensor4D | undefined;
  builder.addView({
    name: views[0],
    // The target image as loaded: the crops need no pseudo-labels, and a lane that builds them
    // then need not run the teacher over the whole target crop.
    reads: [],
    inputs: ["target"],
    by: term,
    describe: `two overlapping ${block.scale.join("–")}× rescaled crops of each target image ` +
      `(IoU ${block.iou.join("–")}, offsets ×${block.offsetMultiple}, flips, colour)`,
    async build(context) {
      const target = context.input("target").image;
      disposePending(pair);
      pair = undefined;
      if (!started(context)) {
        second = target;
        return { image: target };
      }
      const cropSize = patchCropSize(block, target.shape[1], target.shape[2]);
      const { crops, geometries } = await cropPairs(
        target,
        { ...block, cropSize },
        context.rng(`${term}:crops`),
      );
      context.own(...crops);
      second = crops[1];
      const next = semantic === undefined
        ? (await context.network(BANK).params.get("bank.next").data())[0]
        : 0;
      pair = { iteration: context.iteration, geometries, grid: cropSize / GRID_STRIDE, next };
      if (semantic !== undefined) pair.memory = await semantic.entries(context);
      return { image: crops[0] };
    },
  });
  builder.addView({
    name: views[1],
    reads: [views[0]],
    by: term,
    describe: "the pair's second crop",
    build: () => ({ image: second! }),
  });

  const passes = [...new Map(
    [0, 1].flatMap((k) => [featurePass(k), teacherPass(k)])
      .map((p) => [passId(p), p]),
  ).values()];
  const chart = {
    name: `${term}_similarity`,
    title: `Patch contrast (${term}): mean cosine similarity, positives and negatives`,
    yLabel: "cosine similarity",
  };
  builder.addMetric({
    key: `${term}:positiveSimilarity`,
    logAs: `${term}PositiveSimilarity`,
    chart,
  });
  builder.addMetric({
    key: `${term}:negativeSimilarity`,
    logAs: `${term}NegativeSimilarity`,
    chart,
  });
  if (semantic !== undefined) {
    builder.addMetric({ key: `${term}:memoryFill`, logAs: `${term}MemoryFill` });
  }
  builder.addTerm({
    name: term,
    block,
    weight: block.weight,
    passes,
    views: [...views],
    reads: [
      ...[0, 1].map((k) => `${passId(featurePass(k))}.embedding`),
      ...[0, 1].map((k) => `${passId(teacherPass(k))}.logits`),
    ],
    // The after-step hook writes the negatives this term drew into the bank.
    feedsHooks: true,
    compute(context) {
      if (!started(context) || pair?.iteration !== context.iteration) return tf.scalar(0);
      const { grid, geometries } = pair;
      const projection = context.network(PROJECTION).params;
      const sides = [0, 1].map((k) => {
        const embedding = context.pass(featurePass(k)).embedding;
        if (embedding === undefined) {
          throw new Error(`patchContrast: the ${block.features}'s passes report no embedding`);
        }
        const pooled = toGrid(embedding, grid);
        const z = projectDecoderFeatures(projection, PREFIX, pooled);
        const { label, confidence } = gridPseudoLabels(
          context.pass(teacherPass(k)).logits!,
          grid,
        );
        context.own(label, confidence);
        return { z: tf.reshape(z, [-1, block.projectionDim]) as tf.Tensor2D, label, confidence };
      });
      const [at1, at2] = overlapIndices(geometries, grid, GRID_STRIDE).map((i) =>
        tf.tensor1d(i, "int32")
      );
      const pick = <T extends tf.Tensor>(x: T, at: tf.Tensor1D) => tf.gather(x, at) as T;
      // This step's negatives: a random subset of each crop's whole map, constants.
      const rng = context.rng(`${term}:negatives`);
      const fresh = sides.map((side) => {
        const at = tf.tensor1d(
          sampleIndices(side.label.shape[0], block.negativesPerCrop, rng),
          "int32",
        );
        return {
          features: stopGradient(pick(side.z, at)),
          labels: pick(side.label, at),
          confidence: pick(side.confidence, at),
        };
      });
      const current = padNegatives(
        tf.concat(fresh.map((f) => f.features)) as tf.Tensor2D,
        tf.concat(fresh.map((f) => f.labels)) as tf.Tensor1D,
        perStep,
      );
      pair.negatives = {
        features: tf.keep(tf.clone(current.features)),
        labels: tf.keep(tf.clone(current.labels)),
      };
      // Padding rows (label −1) get confidence 0: nothing enters the memory from them.
      const confidence = tf.concat(fresh.map((f) => f.confidence)) as tf.Tensor1D;
      pair.confidence = tf.keep(
        tf.pad(confidence, [[0, perStep - confidence.shape[0]]]) as tf.Tensor1D,
      );
      // The memory as it is after this step's negatives enter (the reference enqueues first).
      const negatives = pair.memory !== undefined
        ? withMemory(current, pair.memory, block.projectionDim)
        : spliceBank(context.network(BANK).params, current, pair.next * perStep);
      const options = {
        temperature: block.temperature,
        threshold: block.confidence,
        chunk: block.chunk,
      };
      const direction = (a: number, b: number, atA: tf.Tensor1D, atB: tf.Tensor1D) => {
        const anchor = pick(sides[a].z, atA);
        const label = pick(sides[a].label, atA);
        const negativeMask = taskSmart
          ? taskSmartNegatives(anchor, label, negatives, block as SemanticPatchContrastParams)
          : undefined;
        return directionalContrast(
          {
            anchor,
            partner: pick(sides[b].z, atB),
            label,
            confidence: pick(sides[a].confidence, atA),
            partnerConfidence: pick(sides[b].confidence, atB),
            negativeMask,
          },
          negatives,
          options,
        );
      };
      const seen = contrastSimilarities(
        {
          anchor: pick(sides[0].z, at1),
          partner: pick(sides[1].z, at2),
          label: pick(sides[0].label, at1),
        },
        negatives,
        block.chunk,
      );
      // Read after the tape is gone, so kept until the step ends.
      const [positive, negative] = [tf.keep(seen.positive), tf.keep(seen.negative)];
      context.own(positive, negative);
      context.metric(`${term}:positiveSimilarity`, positive);
      context.metric(`${term}:negativeSimilarity`, negative);
      if (semantic !== undefined) {
        const fill = tf.keep(
          tf.tensor1d(semantic.sizes().map((n) => n / semantic.options.capacity)),
        );
        context.own(fill);
        context.metric(`${term}:memoryFill`, fill);
      }
      return tf.add(direction(0, 1, at1, at2), direction(1, 0, at2, at1)) as tf.Scalar;
    },
  });
  builder.addHook({
    by: term,
    async afterStep(context) {
      const negatives = pair?.iteration === context.iteration ? pair.negatives : undefined;
      if (negatives === undefined) return;
      if (semantic !== undefined) {
        const confidence = pair!.confidence!;
        await semantic.push(
          context,
          await negatives.features.data(),
          await negatives.labels.data(),
          await confidence.data(),
        );
        disposePending(pair);
        return;
      }
      const bank = context.network(BANK).params;
      const written = pair!.next;
      tf.tidy(() => {
        const at = written * perStep;
        const features = bank.get("bank.features");
        features.assign(spliceRows(features, negatives.features, at));
        const labels = bank.get("bank.labels");
        labels.assign(spliceRows(labels, tf.cast(negatives.labels, "float32"), at));
        bank.get("bank.next").assign(tf.tensor1d([(written + 1) % bankSteps]));
      });
      disposePending(pair);
    },
  });
  builder.addKernels(PATCH_CONTRAST_KERNELS);
  builder.addPlanSection({
    title: "patch contrast",
    lines: [
      `${place.path}  directional InfoNCE τ ${block.temperature} of ${block.features} ` +
      `decoder features at stride ${GRID_STRIDE} (projected to ${block.projectionDim}), ` +
      `pulled where the partner crop's teacher confidence > ${block.confidence} and higher; ` +
      (semantic === undefined
        ? `negatives: ${bankSteps} steps × ${perStep} of other pseudo-classes`
        : `negatives: the semantic memory (${semantic.options.capacity} a class) and this ` +
          `step's ${perStep}, of other pseudo-classes` +
          (taskSmart ? `, the ${(block as SemanticPatchContrastParams).fraction} hardest` : "")) +
      `; from iteration ${block.startIteration}`,
    ],
  });
}

registerBlockModule<Block<"patchContrast", PatchContrastParams>>({
  kind: "patchContrast",
  lower: lowerPatchContrast,
});
registerBlockModule<Block<"semanticPatchContrast", SemanticPatchContrastParams>>({
  kind: "semanticPatchContrast",
  lower: lowerPatchContrast,
});
