/**
 * `deno task data SUBCOMMAND ...`: dataset tools.
 *
 * - `synthcity --out DIR --domain game|real|synthia --count N [--seed S]`: write SynthCity images in
 *   the real on-disk layouts (GTA5 for `game`, Cityscapes for `real`, SYNTHIA for `synthia`).
 * - `preview --out FILE.png [...]`: a contact sheet of images and colourised labels per domain.
 * - `stats --dataset cityscapes|gta5|synthia|synthcity --root DIR [--split train|val]`: pixel
 *   counts per trainId as JSON.
 * - `bench [--count N] [--workers 0,1,2]`: generation, decoding, augmentation and prefetch speeds.
 * - `geometry [--count N] [--update FILE]`: SynthCity's class frequency and size tables.
 *
 * @module
 */
import { main as synthcity } from "./data/synthcity.ts";
import { main as preview } from "./data/preview.ts";
import { main as stats } from "./data/stats.ts";
import { main as bench } from "./data/bench.ts";
import { main as geometry } from "./data/geometry.ts";

const subcommands: Record<string, (args: string[]) => Promise<number>> = {
  synthcity,
  preview,
  stats,
  bench,
  geometry,
};

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  const run = name === undefined ? undefined : subcommands[name];
  if (run === undefined) {
    console.error(
      `usage: deno task data <${Object.keys(subcommands).join("|")}> [options]\n` +
        (name === undefined ? "No subcommand given." : `Unknown subcommand '${name}'.`),
    );
    Deno.exit(2);
  }
  Deno.exit(await run(rest));
}
