/**
 * `deno task data bench [--count N] [--workers 0,1,2]`: prints JSON lines with the data layer's
 * speeds on this machine: SynthCity generation per domain (512×256), PNG decoding of an image and
 * its label through the real readers, the published source pipeline with and without DACS's
 * colour jitter and blur, and the prefetching loader with 0 (inline), 1 and 2 workers against a
 * consumer that works 50 ms per batch of 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DOMAINS, generateScene } from "../../data/synthcity/mod.ts";
import { writeSynthCity } from "../../data/synthcity/write.ts";
import { openCityscapes } from "../../data/readers/datasets.ts";
import { applyPipeline, type PipelineSpec, sampleStream } from "../../data/transforms/pipeline.ts";
import {
  applyJitter,
  DACS_JITTER,
  denormalizeToUnit,
  drawBlurSigma,
  drawJitter,
  gaussianBlur,
} from "../../data/transforms/photometric.ts";
import { SampleLoader } from "../../data/prefetch/loader.ts";

/** The CPU-scale source pipeline: half-resolution 256×128, 128×128 crops, as published otherwise. */
export const HALF_SCALE_SOURCE: PipelineSpec = {
  resize: { kind: "exact", width: 256, height: 128 },
  crop: { width: 128, height: 128 },
  catMaxRatio: 0.75,
  flip: 0.5,
};

function rate(count: number, started: number): number {
  return Number((count / ((performance.now() - started) / 1000)).toFixed(1));
}

/** Runs the benchmark; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string", default: "20" },
      workers: { type: "string", default: "0,1,2" },
    },
  });
  const count = Number(values.count);
  for (const domain of DOMAINS) {
    const started = performance.now();
    for (let i = 0; i < count; i++) generateScene({ domain, seed: 0, index: i });
    console.log(
      JSON.stringify({
        case: "generate",
        domain,
        size: "512x256",
        images_per_s: rate(count, started),
      }),
    );
  }
  const dir = await Deno.makeTempDir({ dir: ".cache" }).catch(async () => {
    await Deno.mkdir(".cache", { recursive: true });
    return await Deno.makeTempDir({ dir: ".cache" });
  });
  try {
    await writeSynthCity(dir, "real", count, 0);
    const dataset = await openCityscapes(dir, "train");
    let started = performance.now();
    const examples = [];
    for (let i = 0; i < count; i++) examples.push(await dataset.get(i));
    console.log(
      JSON.stringify({
        case: "decode",
        format: "cityscapes png image + labelTrainIds",
        size: "512x256",
        images_per_s: rate(count, started),
      }),
    );
    started = performance.now();
    examples.forEach((e, i) => applyPipeline(e, HALF_SCALE_SOURCE, sampleStream(0, i)));
    console.log(
      JSON.stringify({
        case: "augment",
        pipeline: "resize 256x128, crop 128 (cat 0.75), flip, normalise",
        images_per_s: rate(count, started),
      }),
    );
    started = performance.now();
    examples.forEach((e, i) => {
      const rng = sampleStream(0, i);
      const p = applyPipeline(e, {
        ...HALF_SCALE_SOURCE,
        resize: { kind: "none" },
        crop: { width: 512, height: 256 },
      }, rng);
      const unit = applyJitter(denormalizeToUnit(p.image), drawJitter(DACS_JITTER, rng));
      gaussianBlur(unit, p.width, p.height, 3, drawBlurSigma(rng));
    });
    console.log(
      JSON.stringify({
        case: "augment",
        pipeline: "512x256 crop, flip, normalise, colour jitter, Gaussian blur (kernel 51x25)",
        images_per_s: rate(count, started),
      }),
    );
    const source = {
      module: new URL("../../data/synthcity/mod.ts", import.meta.url).href,
      exportName: "openSynthCity",
      options: { domain: "game", count: 1000 },
    };
    for (const workers of values.workers!.split(",").map(Number)) {
      const loader = await SampleLoader.open({
        source,
        pipeline: HALF_SCALE_SOURCE,
        seed: 0,
        workers,
      });
      const batches = loader.batches(0, 2, 3);
      await batches.next(); // warm-up
      let waited = 0;
      const steps = Math.max(5, Math.floor(count / 2));
      started = performance.now();
      for (let step = 0; step < steps; step++) {
        const t = performance.now();
        await batches.next();
        waited += performance.now() - t;
        const busy = performance.now() + 50; // the training step's work, on the main thread
        while (performance.now() < busy) { /* spin */ }
      }
      console.log(JSON.stringify({
        case: "prefetch",
        workers,
        source: "synthcity game, generated + pipeline",
        samples_per_s: rate(2 * steps, started),
        consumer_wait_ms_per_batch: Number((waited / steps).toFixed(1)),
      }));
      loader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return 0;
}
