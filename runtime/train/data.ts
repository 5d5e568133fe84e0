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
  for (const v of views.values()) tf.dispose([v.image, ...(v.label ? [v.label] : [])]);
}

function toTensors(samples: LoadedSample[], labelled: boolean): View {
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
  return { image: tf.tensor4d(image, [samples.length, height, width, 3]), label, hostLabel };
}
