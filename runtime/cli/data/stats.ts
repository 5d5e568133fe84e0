/**
 * `deno task data stats --dataset cityscapes|gta5|synthia|synthcity --root DIR [--split train|val]`
 * (`--domain game|real|synthia --count N --seed S` for synthcity, which needs no root): prints
 * the number of images and the pixel count of every trainId, and of ignored pixels, as JSON.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CLASS_NAMES } from "../../data/labels.ts";
import { classStats, totalCounts } from "../../data/class_stats.ts";
import { openDataset } from "../../data/open.ts";

const USAGE = "usage: deno task data stats --dataset cityscapes|gta5|synthia|synthcity " +
  "[--root DIR] [--split train|val] [--domain game|real|synthia --count N --seed S]";

/** Runs the subcommand; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        dataset: { type: "string" },
        root: { type: "string" },
        split: { type: "string", default: "train" },
        domain: { type: "string", default: "game" },
        count: { type: "string", default: "100" },
        seed: { type: "string", default: "0" },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}.\n${USAGE}`);
    return 2;
  }
  if (values.dataset === undefined) {
    console.error(`--dataset is required.\n${USAGE}`);
    return 2;
  }
  try {
    const dataset = await openDataset({
      dataset: values.dataset,
      root: values.root,
      split: values.split!,
      domain: values.domain!,
      count: Number(values.count),
      seed: Number(values.seed),
    });
    const { images } = await classStats(dataset);
    const { counts, ignored } = totalCounts(images);
    const pixels: Record<string, number> = {};
    CLASS_NAMES.forEach((name, c) => (pixels[name] = counts[c]));
    pixels.ignore = ignored;
    console.log(
      JSON.stringify(
        {
          dataset: dataset.kind,
          root: dataset.root,
          split: dataset.split,
          images: images.length,
          pixels,
        },
        null,
        2,
      ),
    );
    return 0;
  } catch (error) {
    console.error(`data stats: ${(error as Error).message}`);
    return (error as Error).name === "UsageError" ? 2 : 1;
  }
}
