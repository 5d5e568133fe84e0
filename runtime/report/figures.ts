/**
 * The pictures modules add to a run's report at every evaluation (`FigurePlan`): drawn into
 * `pictures/<name>_<iteration>.png` (or `.svg`) as the run goes (a resumed run keeps the ones it drew before
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
import { writeFileAtomic } from "../io/atomic.ts";

/** The file of figure `name` at `iteration` (`png` or `svg`), relative to the run directory. */
export function figureFile(name: string, iteration: number, format: "png" | "svg" = "png"): string {
  return `pictures/${name}_${String(iteration).padStart(6, "0")}.${format}`;
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
  const evalSample: FigureContext["evalSample"] = (role, index) => {
    const x = evalSets.find((s) => s.role === role)?.images[index];
    if (x === undefined) throw new Error(`figure: the experiment has no ${role} image ${index}`);
    return {
      image: tf.tensor4d(x.input, [1, x.inputHeight, x.inputWidth, 3]),
      label: x.label,
      width: x.width,
      height: x.height,
    };
  };
  const context: FigureContext = {
    iteration,
    network(name) {
      const network = networks.get(name);
      if (network === undefined) throw new Error(`figure: no network '${name}'`);
      return network;
    },
    evalImage: (role) => evalSample(role, 0).image,
    evalCount: (role) => evalSets.find((s) => s.role === role)?.images.length ?? 0,
    evalSample,

    rng: (label) => new RandomStream(program.seed).fork(`figure:${label}`),
  };
  for (const figure of program.figures) {
    const picture = await figure.draw(context);
    if (typeof picture === "string") {
      await writeFileAtomic(join(runDir, figureFile(figure.name, iteration, "svg")), picture);
      continue;
    }
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
    files: names.filter((n) => new RegExp(`^${figure.name}_\\d{6}\\.(png|svg)$`).test(n)).sort()
      .map((n) => `pictures/${n}`),
  }));
}
