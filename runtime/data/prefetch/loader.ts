/**
 * Loads processed samples ahead of the training step, on worker threads.
 *
 * Samples come back in request order whatever worker computed them, and each sample's randomness
 * depends only on (seed, index), so the output is identical for 0 (inline), 1 or N workers.
 *
 * @module
 */
import { loadSample, type PipelineSpec, type Processed } from "../transforms/pipeline.ts";
import type { Reply, Request, Source, SourceSpec } from "./protocol.ts";
import { strictLabels } from "../label_policy.ts";
import { warnOnce } from "../warnings.ts";

/** Options of {@linkcode SampleLoader}. */
export interface LoaderOptions {
  /** Where the examples come from. */
  source: SourceSpec;
  /** The transforms applied to each example. */
  pipeline: PipelineSpec;
  /** Seed of the per-sample streams. */
  seed: number;
  /** Worker threads; 0 runs everything inline on the calling thread. */
  workers: number;
}

/** A processed sample with its example's name. */
export interface LoadedSample extends Processed {
  /** The example's name (file or generator id). */
  name: string;
}

interface Pending {
  resolve(sample: LoadedSample): void;
  reject(error: Error): void;
}

/** Produces processed samples by index, in parallel on workers. */
export class SampleLoader {
  #options: LoaderOptions;
  #workers: Worker[] = [];
  #pending = new Map<number, Pending>();
  #inline: Source | undefined;
  #next = 0;
  /** Number of distinct examples of the source. */
  size = 0;

  private constructor(options: LoaderOptions) {
    this.#options = options;
  }

  /** Starts the workers (or loads the source inline) and waits until they are ready. */
  static async open(options: LoaderOptions): Promise<SampleLoader> {
    const loader = new SampleLoader(options);
    if (options.workers === 0) {
      const module = await import(options.source.module);
      loader.#inline = await module[options.source.exportName](options.source.options);
      loader.size = loader.#inline!.size;
      return loader;
    }
    const ready: Promise<number>[] = [];
    for (let w = 0; w < options.workers; w++) {
      const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
      ready.push(
        new Promise((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<Reply>) => {
            const reply = event.data;
            if (reply.type === "warning") warnOnce(reply.key, reply.message);
            else if (reply.type === "ready") {
              worker.onmessage = (e: MessageEvent<Reply>) => loader.#receive(e.data);
              resolve(reply.size);
            } else if (reply.type === "error") reject(new Error(`data worker: ${reply.message}`));
          };
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`data worker failed to start: ${event.message}`));
          };
        }),
      );
      const init: Request = {
        type: "init",
        source: options.source,
        pipeline: options.pipeline,
        seed: options.seed,
        strictLabels: strictLabels(),
      };
      worker.postMessage(init);
      loader.#workers.push(worker);
    }
    try {
      loader.size = (await Promise.all(ready))[0];
    } catch (error) {
      loader.close();
      throw error;
    }
    return loader;
  }

  #receive(reply: Reply): void {
    if (reply.type === "warning") return warnOnce(reply.key, reply.message);
    if (reply.type === "ready") return;
    const pending = this.#pending.get(reply.index);
    if (pending === undefined) return;
    this.#pending.delete(reply.index);
    if (reply.type === "error") {
      pending.reject(new Error(`sample ${reply.index}: ${reply.message}`));
    } else pending.resolve({ ...reply.sample, name: reply.name });
  }

  /** The processed sample `index` (computed on the next worker in turn). */
  get(index: number): Promise<LoadedSample> {
    if (this.#inline !== undefined) {
      return loadSample(this.#inline, this.#options.pipeline, this.#options.seed, index);
    }
    if (this.#pending.has(index)) {
      throw new Error(`SampleLoader: sample ${index} is already requested`);
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(index, { resolve, reject });
      const request: Request = { type: "get", index };
      this.#workers[this.#next++ % this.#workers.length].postMessage(request);
    });
  }

  /**
   * Batches of `batchSize` samples from index `start` on, keeping `ahead` batches in flight so
   * the consumer finds the next one ready.
   */
  async *batches(start: number, batchSize: number, ahead = 2): AsyncGenerator<LoadedSample[]> {
    const queue: Promise<LoadedSample[]>[] = [];
    let next = start;
    const enqueue = () => {
      const indices = Array.from({ length: batchSize }, (_, k) => next + k);
      next += batchSize;
      const batch = Promise.all(indices.map((i) => this.get(i)));
      // Batches still queued when the consumer stops are rejected by close(); mark them handled.
      batch.catch(() => {});
      queue.push(batch);
    };
    for (let k = 0; k < ahead; k++) enqueue();
    while (true) {
      const batch = await queue.shift()!;
      enqueue();
      yield batch;
    }
  }

  /** Stops the workers; pending requests are rejected. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    for (const [index, pending] of this.#pending) {
      pending.reject(new Error(`sample ${index}: loader closed`));
    }
    this.#pending.clear();
  }
}
