/**
 * The pictures modules add to a run's report at every evaluation (`FigurePlan`): drawn into
 * `pictures/<name>_<iteration>.png` as the run goes (a resumed run keeps the ones it drew before
 * it stopped), and listed in `report.md` by name and iteration.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import type { Program } from "../compile/program.ts";
import type { FigureContext, Network } from "../blocks/types.ts";
import type { EvalSet } from "../eval/evaluate.ts";
import { writePng } from "../data/png.ts";

/** The file of figure `name` at `iteration`, relative to the run directory. */
export function figureFile(name: string, iteration: number): string {
  return `pictures/${name}_${String(iteration).padStart(6, "0")}.png`;
}

/** Draws every figure of `program` for the evaluation at `iteration`. */
export async function drawFigures(
  program: Program,
  networks: ReadonlyMap<string, Network>,
  evalSets: readonly EvalSet[],
  runDir: string,
  iteration: number,
): Promise<void> {
  if (program.figures.length === 0) return;
  await Deno.mkdir(join(runDir, "pictures"), { recursive: true });
  const context: FigureContext = {
    iteration,
    network(name) {
      const network = networks.get(name);
      if (network === undefined) throw new Error(`figure: no network '${name}'`);
      return network;
    },
    evalImage(role) {
      const first = evalSets.find((s) => s.role === role)?.images[0];
      if (first === undefined) throw new Error(`figure: the experiment has no ${role} images`);
      return tf.tensor4d(first.input, [1, first.inputHeight, first.inputWidth, 3]);
    },
    rng: (label) => new RandomStream(program.seed).fork(`figure:${label}`),
  };
  for (const figure of program.figures) {
    const picture = await figure.draw(context);
    await writePng(join(runDir, figureFile(figure.name, iteration)), {
      width: picture.width,
      height: picture.height,
      channels: 3,
      depth: 8,
      data: picture.data,
    });
  }
}

/** The figures drawn so far, each with its caption and files in iteration order. */
export async function drawnFigures(
  program: Program,
  runDir: string,
): Promise<{ name: string; caption: string; files: string[] }[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(runDir, "pictures"))) names.push(entry.name);
  } catch {
    // No pictures folder: nothing drawn.
  }
  return program.figures.map((figure) => ({
    name: figure.name,
    caption: figure.caption,
    files: names.filter((n) => new RegExp(`^${figure.name}_\\d{6}\\.png$`).test(n)).sort()
      .map((n) => `pictures/${n}`),
  }));
}
