/**
 * PiPa++'s semantic-aware memory as program state that several contrast terms share
 * (`runtime/strategies/semantic_memory.ts` holds the queues): one `semanticMemory` network whose
 * buffers are the memory's serialised state, so checkpoints carry it and a resumed run restores
 * it bit for bit, and one host copy per compiled program that every sharing term reads and
 * pushes to. The buffers are the truth: the host copy is restored from them at the first read of
 * each step (so a resume, or a step after another process wrote them, sees the same entries) and
 * written back after each push.
 *
 * Terms declare it with {@linkcode shareSemanticMemory}; a second declaration with other options
 * fails at compile time, since two terms would otherwise silently disagree on its shape.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { ParamStore } from "../nn/params.ts";
import {
  type MemoryEntries,
  SemanticMemory,
  type SemanticMemoryOptions,
} from "../strategies/semantic_memory.ts";
import type { SegmentorNetwork } from "./model.ts";
import type { ProgramBuilder, StepContext } from "./types.ts";

/** The memory's network name. */
export const SEMANTIC_MEMORY = "semanticMemory";

/** The memory's options besides the class count (the segmentor's). */
export type SharedMemoryOptions = Omit<SemanticMemoryOptions, "classes">;

/** The program's memory, as the terms that share it see it. */
export interface SharedMemory {
  /** Its options (the class count once built). */
  readonly options: SharedMemoryOptions;
  /** Who declared it first, for errors. */
  readonly by: string;
  /** The entries at this step (restored from the buffers at the step's first read). */
  entries(context: StepContext): Promise<MemoryEntries>;
  /** Entries per class at the last read (for a fill metric), `[classes]`. */
  sizes(): number[];
  /** Pushes rows (`[n·dim]` features) and writes the buffers. */
  push(
    context: StepContext,
    features: ArrayLike<number>,
    labels: ArrayLike<number>,
    confidence: ArrayLike<number>,
  ): Promise<void>;
}

const declared = new WeakMap<ProgramBuilder, SharedMemory>();

/**
 * The program's semantic memory, declared by the first term that asks (its network added to the
 * program), shared with every later one; `by` names the asking block in errors.
 */
export function shareSemanticMemory(
  builder: ProgramBuilder,
  options: SharedMemoryOptions,
  by: string,
): SharedMemory {
  const existing = declared.get(builder);
  if (existing !== undefined) {
    const differs = (Object.keys(options) as (keyof SharedMemoryOptions)[])
      .filter((k) => options[k] !== existing.options[k]);
    if (differs.length > 0) {
      throw new Error(
        `${by}: the semantic memory is shared with ${existing.by}, which declares it with ` +
          differs.map((k) => `${k} ${existing.options[k]}`).join(", ") + ` (here: ` +
          differs.map((k) => `${k} ${options[k]}`).join(", ") + `); give both the same values`,
      );
    }
    return existing;
  }
  let memory: SemanticMemory | undefined;
  let readAt = -1;
  const ensure = (context: StepContext) => {
    const student = context.network("student") as SegmentorNetwork;
    memory ??= new SemanticMemory({ ...options, classes: student.model.head.numClasses });
    return memory;
  };
  const shared: SharedMemory = {
    options,
    by,
    async entries(context) {
      const queues = ensure(context);
      if (readAt !== context.iteration) {
        const params = context.network(SEMANTIC_MEMORY).params;
        const state: Record<string, Float32Array> = {};
        for (const name of Object.keys(queues.stateShapes())) {
          state[name] = (await params.get(name).data()) as Float32Array;
        }
        queues.restore(state);
        readAt = context.iteration;
      }
      return queues.all();
    },
    sizes: () =>
      memory === undefined
        ? []
        : Array.from({ length: memory.options.classes }, (_, c) => memory!.size(c)),
    async push(context, features, labels, confidence) {
      await shared.entries(context);
      const queues = ensure(context);
      queues.push(features, labels, confidence);
      const params = context.network(SEMANTIC_MEMORY).params;
      for (const [name, values] of Object.entries(queues.serialize())) {
        const buffer = params.get(name);
        tf.tidy(() => buffer.assign(tf.tensor(values, buffer.shape)));
      }
    },
  };
  declared.set(builder, shared);
  builder.addNetwork({
    name: SEMANTIC_MEMORY,
    trainable: false,
    checkpointed: true,
    exported: false,
    describe: () =>
      `PiPa++'s semantic-aware memory: a FIFO of ${options.capacity} embeddings of ` +
      `${options.dim} dimensions per class, from teacher confidence ≥ ${options.threshold}, ` +
      `≤ ${options.perClassPerPush} a class per push (declared by ${by})`,
    build(context) {
      const student = context.networks.get("student") as SegmentorNetwork;
      const shapes = new SemanticMemory({ ...options, classes: student.model.head.numClasses })
        .stateShapes();
      const params = new ParamStore();
      for (const [name, shape] of Object.entries(shapes)) {
        params.add(name, tf.zeros(shape), "plain", false);
      }
      return Promise.resolve({ params });
    },
  });
  return shared;
}
