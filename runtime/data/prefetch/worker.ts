/**
 * A data worker: loads a source, then answers `get` requests with processed samples, transferring
 * their buffers instead of copying them.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { loadSample, type PipelineSpec } from "../transforms/pipeline.ts";
import type { Reply, Request, Source } from "./protocol.ts";
import { setStrictLabels } from "../label_policy.ts";
import { setWarningSink } from "../warnings.ts";

let source: Source | undefined;
let pipeline: PipelineSpec | undefined;
let seed = 0;

function reply(message: Reply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

// Warnings go to the main thread, which prints each once for the whole process.
setWarningSink((key, message) => reply({ type: "warning", key, message }));

self.onmessage = async (event: MessageEvent<Request>) => {
  const request = event.data;
  if (request.type === "init") {
    try {
      setStrictLabels(request.strictLabels);
      const module = await import(request.source.module);
      const factory = module[request.source.exportName];
      if (typeof factory !== "function") {
        throw new Error(
          `${request.source.module} has no exported function '${request.source.exportName}'`,
        );
      }
      source = await factory(request.source.options);
      pipeline = request.pipeline;
      seed = request.seed;
      reply({ type: "ready", size: source!.size });
    } catch (error) {
      reply({ type: "error", index: -1, message: (error as Error).message });
    }
    return;
  }
  const index = request.index;
  try {
    const { name, ...sample } = await loadSample(source!, pipeline!, seed, index);
    const transfer: Transferable[] = [sample.image.buffer as ArrayBuffer];
    for (const plane of [sample.label, sample.previous, sample.flow, sample.flowValid]) {
      if (plane !== undefined) transfer.push(plane.buffer as ArrayBuffer);
    }
    reply({ type: "sample", index, name, sample }, transfer);
  } catch (error) {
    reply({ type: "error", index, message: (error as Error).message });
  }
};
