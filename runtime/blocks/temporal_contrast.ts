/**
 * PiPa++'s temporal-contrast runtime module (`dsl/blocks/temporal_contrast.ts`,
 * `docs/pipapp.md`): the frame views, the projection, the semantic-aware memory and the term.
 *
 * - The target loader gives frame pairs (`adjustPipeline`: `pairs`); view `<term>.previous` is
 *   frame t−k of each target image as loaded.
 * - View `<term>.points` (host side, before the gradient): the teacher's softmax on both frames
 *   pooled to the stride-`gridStride` grid (pseudo-labels and confidences), the flow sampled at
 *   the grid cells' centres (`flowCorrespondence`), a uniform draw of at most `anchors` frame-t
 *   points with a valid partner and a label, and the memory's entries. Its image is frame t−k.
 * - Network `temporalContrast`: the projection `temporal_project.0` (1×1 C→C) → ReLU → `temporal_project.2` (1×1
 *   C→d), in the default group (as PiPa's patch projection).
 * - Network `semanticMemory` (`semantic_memory_network.ts`, shared with a patch contrast that
 *   asks for it): the memory's buffers, so checkpoints carry it and a resumed run contrasts
 *   against the same bits. The after-step hook pushes the step's anchors (the student's frame-t
 *   embeddings, constants) with the teacher's labels.
 * - The term: `temporalContrastLoss` of the anchors against their partners (student with
 *   gradient, or teacher constants), negatives of other pseudo-classes from the partners and the
 *   memory, the task-smart selection (`selectHard`) unless `sampling: "all"`.
 *
 * @module
 */
import type { Block, TemporalContrastParams } from "../../dsl/mod.ts";
import { tf } from "../tf.ts";
import { ParamStore } from "../nn/params.ts";
import { stopGradient } from "../losses/patch_contrast.ts";
import {
  flowCorrespondence,
  type MemoryNegatives,
  selectHard,
  temporalContrastLoss,
} from "../losses/temporal_contrast.ts";
import { labelled } from "../losses/task_smart_sampling.ts";
import { entriesTensor, type MemoryEntries } from "../strategies/semantic_memory.ts";
import { shareSemanticMemory } from "./semantic_memory_network.ts";
import type { KernelUse } from "../compile/kernels.ts";
import { decoderProjectionNetwork, projectDecoderFeatures } from "./decoder_projection.ts";
import { registerBlockModule } from "./registry.ts";
import { passId, type PassRequest, type StepContext } from "./types.ts";

type TemporalContrastBlock = Block<"temporalContrast", TemporalContrastParams>;

/** The projection's network. */
const PROJECTION = "temporalContrast";
/** Its parameters' prefix (`temporal_project.0`, `temporal_project.2`). */
const PREFIX = "temporal_project";
/** The decoder's embedding and logits are at stride 4. */
const FEATURE_STRIDE = 4;

/** Kernels beyond the segmentor's and the teacher's. */
export const TEMPORAL_CONTRAST_KERNELS: KernelUse = {
  differentiated: ["AvgPool", "GatherV2", "Rsqrt"],
  backward: [
    "AddN",
    "AvgPoolGrad",
    "BatchMatMul",
    "Concat",
    "Exp",
    "Log",
    "Max",
    "Slice",
    "Softmax",
    "UnsortedSegmentSum",
    "ZerosLike",
  ],
};

/** `[N, h, w, C]` at stride 4 pooled to the stride-`stride` grid (`stride / 4` × itself). */
export function poolToGrid(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const factor = stride / FEATURE_STRIDE;
  return factor === 1 ? x : tf.avgPool(x, factor, factor, "valid");
}

/**
 * The projected unit embeddings `[N·h·w, d]` of a stride-4 decoder embedding on the
 * stride-`stride` grid: pooled, `temporal_project.0` (1×1), ReLU, `temporal_project.2` (1×1), L2-normalised.
 */
export function projectGrid(
  params: ParamStore,
  embedding: tf.Tensor4D,
  stride: number,
): tf.Tensor2D {
  const z = projectDecoderFeatures(params, PREFIX, poolToGrid(embedding, stride));
  return tf.reshape(z, [-1, z.shape[3]]) as tf.Tensor2D;
}

/**
 * The backward flow `[N, H, W, 2]` (pixels) at the centres of the `[N, h, w]` grid of stride
 * `stride`, in grid cells, interleaved (dx, dy); a cell whose centre pixel has no valid flow gets
 * NaN, which `flowCorrespondence` treats as no partner.
 */
export function gridFlow(
  flow: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
  shape: readonly [number, number, number],
  grid: readonly [number, number],
  stride: number,
): Float32Array {
  const [batch, height, width] = shape;
  const [h, w] = grid;
  const out = new Float32Array(batch * h * w * 2);
  const centre = Math.floor(stride / 2);
  for (let b = 0; b < batch; b++) {
    for (let gy = 0; gy < h; gy++) {
      for (let gx = 0; gx < w; gx++) {
        const pixel = (b * height + gy * stride + centre) * width + gx * stride + centre;
        const cell = (b * h + gy) * w + gx;
        const ok = valid === undefined || valid[pixel] !== 0;
        out[2 * cell] = ok ? flow[2 * pixel] / stride : NaN;
        out[2 * cell + 1] = ok ? flow[2 * pixel + 1] / stride : NaN;
      }
    }
  }
  return out;
}

/** Pseudo-labels and confidences (the softmax's argmax and max) on the grid, on the host. */
async function gridLabels(
  logits: tf.Tensor4D,
  stride: number,
): Promise<{ labels: Int32Array; confidence: Float32Array }> {
  const [label, confidence] = tf.tidy(() => {
    const probabilities = poolToGrid(tf.softmax(logits, -1) as tf.Tensor4D, stride);
    const flat = tf.reshape(probabilities, [-1, probabilities.shape[3]]);
    return [tf.argMax(flat, -1).toInt(), tf.max(flat, -1)];
  });
  const values = {
    labels: (await label.data()) as Int32Array,
    confidence: (await confidence.data()) as Float32Array,
  };
  tf.dispose([label, confidence]);
  return values;
}

/** What one step's `<term>.points` view hands its term and hook. */
interface StepPoints {
  iteration: number;
  /** Flat grid index of each anchor in frame t, ascending. */
  anchors: Int32Array;
  /** Flat grid index of its partner in frame t−k. */
  partners: Int32Array;
  labels: Int32Array;
  partnerLabels: Int32Array;
  confidence: Float32Array;
  /** The memory's entries as negatives (empty without a memory). */
  memory: MemoryEntries;
  /** The anchors' embeddings, kept for the after-step push. */
  embeddings?: tf.Tensor2D;
}

registerBlockModule<TemporalContrastBlock>({
  kind: "temporalContrast",
  lower(block, builder, place) {
    const term = place.term!;
    const previous = `${term}.previous`;
    const pointsView = `${term}.points`;
    let points: StepPoints | undefined;
    const memory = block.memoryCapacity > 0
      ? shareSemanticMemory(builder, {
        capacity: block.memoryCapacity,
        dim: block.projectionDim,
        threshold: block.memoryThreshold,
        perClassPerPush: block.memoryPerStep,
      }, place.path)
      : undefined;

    builder.adjustPipeline("target", (pipeline) => ({ ...pipeline, pairs: true }));
    builder.addNetwork(decoderProjectionNetwork({
      name: PROJECTION,
      prefix: PREFIX,
      dim: block.projectionDim,
      title: "PiPa++'s temporal projection",
    }));
    const started = (context: StepContext) => context.iteration >= block.startIteration;
    const teacherPass = (view: string): PassRequest => ({
      network: "teacher",
      view,
      training: false,
      batchStatistics: true,
      startIteration: block.startIteration,
    });
    const anchorPass: PassRequest = { network: "student", view: "target", training: true };
    const partnerPass: PassRequest = block.partner === "student"
      ? { network: "student", view: previous, training: true }
      : teacherPass(previous);

    builder.addView({
      name: previous,
      reads: [],
      inputs: ["target"],
      by: term,
      describe: "frame t−k of each target image, through the same crop and flip as frame t",
      build(context) {
        const loaded = context.input("target").previous;
        if (loaded === undefined) {
          throw new Error(
            `losses.${term}: the target batch has no previous frames; the temporal contrast ` +
              `needs a sequence dataset as data.target (synthCitySequence, or a reader of ` +
              `frame pairs with their flow)`,
          );
        }
        return { image: loaded };
      },
    });
    builder.addView({
      name: pointsView,
      reads: [previous, "target"],
      inputs: ["target"],
      by: term,
      describe: `the teacher's pseudo-labels of both frames on the stride-${block.gridStride} ` +
        `grid, ${block.correspondence === "flow" ? "flow" : "same-location"} partners, ≤ ` +
        `${block.anchors} anchors a step`,
      passes: [teacherPass("target"), teacherPass(previous)],
      async build(context) {
        points?.embeddings?.dispose();
        points = undefined;
        const image = context.view(previous).image;
        if (!started(context)) return { image };
        const t = await gridLabels(context.pass(teacherPass("target")).logits!, block.gridStride);
        const p = await gridLabels(context.pass(teacherPass(previous)).logits!, block.gridStride);
        const [batch, height, width] = image.shape;
        const grid = [
          Math.floor(height / block.gridStride),
          Math.floor(width / block.gridStride),
        ] as const;
        const input = context.input("target");
        let flow: Float32Array | undefined;
        if (block.correspondence === "flow") {
          if (input.flow === undefined) {
            throw new Error(
              `losses.${term}.correspondence: "flow", but the target dataset gives no flow; ` +
                `give flow files with the dataset or set correspondence: "sameLocation"`,
            );
          }
          const valid = input.flowValid ? await input.flowValid.data() : undefined;
          const pixels = [batch, height, width] as const;
          flow = gridFlow(await input.flow.data(), valid, pixels, grid, block.gridStride);
        }
        const correspondence = flowCorrespondence([batch, grid[0], grid[1]], flow);
        const candidates: number[] = [];
        for (let i = 0; i < correspondence.valid.length; i++) {
          if (correspondence.valid[i] && labelled(t.labels[i])) candidates.push(i);
        }
        const rng = context.rng(`${term}:anchors`);
        const anchors = Int32Array.from(
          rng.shuffle(candidates).slice(0, block.anchors).sort((a, b) => a - b),
        );
        const partners = anchors.map((i) => correspondence.indices[i]);
        let entries: MemoryEntries = {
          features: new Float32Array(0),
          classes: new Int32Array(0),
          rows: 0,
        };
        if (memory !== undefined) entries = await memory.entries(context);
        points = {
          iteration: context.iteration,
          anchors,
          partners,
          labels: anchors.map((i) => t.labels[i]),
          partnerLabels: partners.map((i) => p.labels[i]),
          confidence: Float32Array.from(anchors, (i) => t.confidence[i]),
          memory: entries,
        };
        return { image };
      },
    });

    const project = (context: StepContext, embedding: tf.Tensor4D | undefined, who: string) => {
      if (embedding === undefined) {
        throw new Error(`temporalContrast: the ${who}'s passes report no embedding`);
      }
      return projectGrid(context.network(PROJECTION).params, embedding, block.gridStride);
    };
    const chart = {
      name: `${term}_similarity`,
      title: `Temporal contrast (${term}): mean cosine similarity of the frame pairs`,
      yLabel: "cosine similarity",
    };
    builder.addMetric({ key: `${term}:positiveSimilarity`, logAs: `${term}PairSimilarity`, chart });
    if (block.memoryCapacity > 0) {
      builder.addMetric({ key: `${term}:memoryFill`, logAs: `${term}MemoryFill` });
    }
    builder.addTerm({
      name: term,
      block,
      weight: block.weight,
      passes: [anchorPass, partnerPass],
      views: [pointsView],
      reads: [`${passId(anchorPass)}.embedding`, `${passId(partnerPass)}.embedding`],
      // The after-step hook pushes this step's anchors into the memory.
      feedsHooks: true,
      compute(context) {
        if (!started(context) || points?.iteration !== context.iteration) return tf.scalar(0);
        if (points.anchors.length === 0) return tf.scalar(0);
        const at = (indices: Int32Array) => tf.tensor1d(indices, "int32");
        const anchorRows = at(points.anchors);
        const partnerRows = at(points.partners);
        context.own(anchorRows, partnerRows);
        const anchors = tf.gather(
          project(context, context.pass(anchorPass).embedding, "student"),
          anchorRows,
        ) as tf.Tensor2D;
        let partners = tf.gather(
          project(context, context.pass(partnerPass).embedding, block.partner),
          partnerRows,
        ) as tf.Tensor2D;
        if (block.partner === "teacher") partners = stopGradient(partners);
        let memoryNegatives: MemoryNegatives | undefined;
        if (points.memory.rows > 0) {
          memoryNegatives = entriesTensor(points.memory, block.projectionDim);
          context.own(memoryNegatives.features);
        }
        const pairs = {
          anchors,
          partners,
          valid: new Uint8Array(points.anchors.length).fill(1),
          labels: points.labels,
          partnerLabels: points.partnerLabels,
          confidence: block.weighting === "confidence" ? points.confidence : undefined,
          memory: memoryNegatives,
        };
        const options = {
          temperature: block.temperature,
          negatives: block.negatives,
          agreement: block.agreement,
          normalise: "valid" as const,
          rowChunk: block.rowChunk,
        };
        const hard = block.sampling === "taskSmart"
          ? selectHard(pairs, options, {
            fraction: block.fraction,
            minimum: block.minimum,
            negativeQuota: block.negativeQuota,
          })
          : undefined;
        points.embeddings = tf.keep(tf.clone(anchors));
        const similarity = tf.keep(tf.sum(tf.mul(anchors, partners), -1));
        context.own(similarity);
        context.metric(`${term}:positiveSimilarity`, similarity);
        if (memory !== undefined) {
          const held = memory.sizes();
          const fill = tf.keep(tf.tensor1d(held.map((n) => n / memory.options.capacity)));
          context.own(fill);
          context.metric(`${term}:memoryFill`, fill);
        }
        return temporalContrastLoss({ ...pairs, hard }, options);
      },
    });
    builder.addHook({
      by: term,
      async afterStep(context) {
        const step = points?.iteration === context.iteration ? points : undefined;
        if (step?.embeddings === undefined) return;
        const embeddings = step.embeddings;
        step.embeddings = undefined;
        if (memory !== undefined) {
          await memory.push(context, await embeddings.data(), step.labels, step.confidence);
        }
        embeddings.dispose();
      },
    });
    builder.addKernels(TEMPORAL_CONTRAST_KERNELS);
    builder.addPlanSection({
      title: "temporal contrast",
      lines: [
        `${place.path}  InfoNCE τ ${block.temperature} of ${block.anchors} frame-t points ` +
        `(student decoder features at stride ${block.gridStride}, projected to ` +
        `${block.projectionDim}) against their ${block.correspondence} partner in frame t−k ` +
        `(${block.partner}); negatives of other pseudo-classes` +
        (block.memoryCapacity > 0
          ? ` and a semantic memory of ${block.memoryCapacity} a class`
          : "") +
        (block.sampling === "taskSmart"
          ? `; task-smart: the ${block.fraction} hardest positives and negatives`
          : "") +
        `; from iteration ${block.startIteration}`,
      ],
    });
  },
});
