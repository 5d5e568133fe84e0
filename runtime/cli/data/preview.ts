/**
 * `deno task data preview --out FILE.png [--count N] [--seed S] [--domains game,real,synthia]`:
 * a contact sheet with, for each domain, a row of images and a row of colourised labels.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DOMAINS, generateScene } from "../../data/synthcity/mod.ts";
import type { Domain } from "../../data/synthcity/domains.ts";
import { colourise, sideBySide } from "../../eval/colourise.ts";
import { writePng } from "../../data/png.ts";

const USAGE =
  "usage: deno task data preview --out FILE.png [--count N] [--seed S] [--domains game,real,synthia]";
const WIDTH = 256;
const HEIGHT = 128;

/** Runs the subcommand; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        out: { type: "string" },
        count: { type: "string", default: "4" },
        seed: { type: "string", default: "0" },
        domains: { type: "string", default: DOMAINS.join(",") },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}.\n${USAGE}`);
    return 2;
  }
  const count = Number(values.count);
  const domains = values.domains!.split(",");
  const bad = domains.filter((d) => !DOMAINS.includes(d as Domain));
  if (values.out === undefined || !(Number.isInteger(count) && count > 0) || bad.length > 0) {
    console.error(
      `--out is required, --count a positive integer, --domains from ${
        DOMAINS.join(", ")
      }.\n${USAGE}`,
    );
    return 2;
  }
  const rows: Uint8Array[] = [];
  for (const domain of domains as Domain[]) {
    const frames = Array.from(
      { length: count },
      (_, index) =>
        generateScene({ domain, seed: Number(values.seed), index, width: WIDTH, height: HEIGHT }),
    );
    rows.push(
      sideBySide(frames.map((f) => f.image), WIDTH, HEIGHT),
      sideBySide(frames.map((f) => colourise(f.label)), WIDTH, HEIGHT),
    );
  }
  const width = count * WIDTH + (count - 1) * 4;
  const sheet = new Uint8Array(width * HEIGHT * rows.length * 3);
  rows.forEach((row, k) => sheet.set(row, k * width * HEIGHT * 3));
  await writePng(values.out, {
    width,
    height: HEIGHT * rows.length,
    channels: 3,
    depth: 8,
    data: sheet,
  });
  console.log(`preview: wrote ${values.out} (${domains.join(", ")}; ${count} images each)`);
  return 0;
}
