/**
 * `deno task data synthcity --out DIR --domain game|real|synthia --count N [--seed S] [--split S]`:
 * writes SynthCity in the real on-disk layouts (GTA5 for `game`, Cityscapes for `real`,
 * SYNTHIA-RAND-CITYSCAPES for `synthia`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DOMAINS } from "../../data/synthcity/mod.ts";
import type { Domain } from "../../data/synthcity/domains.ts";
import { writeSynthCity } from "../../data/synthcity/write.ts";

const USAGE =
  "usage: deno task data synthcity --out DIR --domain game|real|synthia --count N [--seed S] [--split train|val]";

/** Runs the subcommand; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        out: { type: "string" },
        domain: { type: "string" },
        count: { type: "string" },
        seed: { type: "string", default: "0" },
        split: { type: "string", default: "train" },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}.\n${USAGE}`);
    return 2;
  }
  const count = Number(values.count);
  const seed = Number(values.seed);
  const problems = [
    values.out === undefined && "--out is required",
    !DOMAINS.includes(values.domain as Domain) && `--domain must be one of ${DOMAINS.join(", ")}`,
    !(Number.isInteger(count) && count > 0) && "--count must be a positive integer",
    !Number.isInteger(seed) && "--seed must be an integer",
  ].filter(Boolean);
  if (problems.length > 0) {
    console.error(`${problems.join("; ")}.\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  await writeSynthCity(values.out!, values.domain as Domain, count, seed, values.split!);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `synthcity: wrote ${count} ${values.domain} images to ${values.out} (${
      (count / seconds).toFixed(1)
    } images/s)`,
  );
  return 0;
}
