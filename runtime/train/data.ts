/**
 * The training data of a run: one loader per role the program reads, each prepared by the
 * modules that asked (rare-class statistics), seeded from `data:<role>` of the run's root
 * stream, and positioned at the resumed iteration so a resumed run reads the same samples.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { Program } from "../compile/program.ts";
import type { Role, View } from "../blocks/types.ts";
import { type LoadedSample, SampleLoader } from "../data/prefetch/loader.ts";

/** The open loaders of a run and their batch streams. */
export class TrainingData {
  readonly #loaders: SampleLoader[] = [];
  readonly #batches = new Map<Role, AsyncGenerator<LoadedSample[]>>();

  private constructor(readonly program: Program) {}

  /** Opens the loaders at iteration `start`. */
  static async open(
    program: Program,
    root: RandomStream,
    start: number,
    write: (text: string) => void,
  ): Promise<TrainingData> {
    const data = new TrainingData(program);
    try {
      for (const plan of program.data.train) {
        let pipeline = plan.pipeline;
        for (const prepare of plan.prepare) pipeline = await prepare(pipeline, { write });
        const loader = await SampleLoader.open({
          source: plan.source,
          pipeline,
          seed: root.fork(`data:${plan.role}`).nextUint32(),
          workers: program.data.workers,
        });
        data.#loaders.push(loader);
        const size = program.data.batchSize;
        data.#batches.set(plan.role, loader.batches(start * size, size));
      }
    } catch (error) {
      data.close();
      throw error;
    }
    return data;
  }

  /** The next step's batches as tensors (the caller disposes them with {@linkcode disposeViews}). */
  async next(): Promise<Map<Role, View>> {
    const out = new Map<Role, View>();
    for (const plan of this.program.data.train) {
      const samples = (await this.#batches.get(plan.role)!.next()).value!;
      out.set(plan.role, toTensors(samples, plan.labelled));
    }
    return out;
  }

  /** Stops the workers. */
  close(): void {
    for (const loader of this.#loaders) loader.close();
  }
}

/** Disposes a step's input tensors. */
export function disposeViews(views: ReadonlyMap<Role, View>): void {
  for (const v of views.values()) {
    tf.dispose([v.image, v.label, v.previous, v.flow, v.flowValid].filter((t) => t !== undefined));
  }
}

/** The batch of one per-pixel plane of `channels` values, or undefined where a sample lacks it. */
function stack<T extends Float32Array | Int32Array>(
  samples: LoadedSample[],
  plane: (s: LoadedSample) => ArrayLike<number> | undefined,
  make: (n: number) => T,
  channels: number,
): T | undefined {
  if (samples.some((s) => plane(s) === undefined)) return undefined;
  const { width, height } = samples[0];
  const size = width * height * channels;
  const out = make(samples.length * size);
  samples.forEach((s, k) => out.set(plane(s)!, k * size));
  return out;
}

/** A batch of samples as a view (labels where the role's are read; pair planes where loaded). */
export function toTensors(samples: LoadedSample[], labelled: boolean): View {
  const { width, height } = samples[0];
  const image = new Float32Array(samples.length * width * height * 3);
  samples.forEach((s, k) => image.set(s.image, k * width * height * 3));
  let label: tf.Tensor3D | undefined;
  let hostLabel: Int32Array | undefined;
  if (labelled) {
    hostLabel = new Int32Array(samples.length * width * height);
    samples.forEach((s, k) => hostLabel!.set(s.label!, k * width * height));
    label = tf.tensor3d(hostLabel, [samples.length, height, width], "int32");
  }
  const n = samples.length;
  const previous = stack(samples, (s) => s.previous, (m) => new Float32Array(m), 3);
  const flow = stack(samples, (s) => s.flow, (m) => new Float32Array(m), 2);
  const flowValid = stack(samples, (s) => s.flowValid, (m) => new Int32Array(m), 1);
  return {
    image: tf.tensor4d(image, [n, height, width, 3]),
    label,
    hostLabel,
    ...(previous === undefined ? {} : { previous: tf.tensor4d(previous, [n, height, width, 3]) }),
    ...(flow === undefined ? {} : { flow: tf.tensor4d(flow, [n, height, width, 2]) }),
    ...(flowValid === undefined
      ? {}
      : { flowValid: tf.tensor3d(flowValid, [n, height, width], "int32") }),
  };
}
