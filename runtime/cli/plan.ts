/**
 * `deno task plan EXP.ts [--set ...] [--backend B]`: what a run would do, without running it —
 * the weights experiments that will be trained first, networks and parameter counts, views,
 * forward passes per step and which terms read them, loss terms, the modules' own sections, data
 * pipelines, optimiser groups, schedule, evaluation, FLOPs per step, and whether the backend has
 * every kernel and gradient the program needs. Every line comes from what the program's modules
 * declared; nothing here names a block kind.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { useBackend } from "../backend/mod.ts";
import { checkKernels } from "../compile/kernels.ts";
import { compile, datasetFacts, type Program, stepFlops, viewCrop } from "../compile/program.ts";
import { listParamGroups } from "../optim/param_groups.ts";
import { experimentHash } from "../../dsl/mod.ts";
import { buildNetworks, disposeNetworks } from "../train/networks.ts";
import { trainableParams } from "../train/step.ts";
import { planLanes } from "../train/lanes.ts";
import { checkParamGroups } from "../train/param_check.ts";
import { weightsDependencies } from "./dependencies.ts";
import {
  applyFlags,
  experimentName,
  loadExperiment,
  parseExperimentArgs,
  runMain,
  UsageError,
} from "./experiment_file.ts";

function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${n}`;
}

function describeData(program: Program, role: "source" | "target"): string {
  const plan = program.data.train.find((d) => d.role === role);
  const facts = datasetFacts(program.experiment.data[role], `data.${role}`);
  if (plan === undefined) {
    return `  ${role.padEnd(9)} ${facts.describe}: read by no term, not loaded`;
  }
  const p = plan.pipeline;
  const resize = p.resize.kind === "keepRatio"
    ? `resize ≤ ${p.resize.maxLong}×${p.resize.maxShort} keep-ratio`
    : "native size";
  const order = p.order === "random"
    ? "images drawn uniformly at random"
    : "a new permutation of the images each epoch";
  const prepared = plan.prepare.length > 0 ? " (sampling prepared when the run starts)" : "";
  return `  ${
    role.padEnd(9)
  } ${facts.describe}: ${resize}, crop ${p.crop.height}×${p.crop.width} ` +
    `(cat_max_ratio ${p.catMaxRatio}), flip ${p.flip}; labels ${
      plan.labelled ? "read" : "not read"
    }; ${plan.prepare.length > 0 ? "see sampling" : order}${prepared}`;
}

/** The networks section, from the networks built on the `cpu` backend without their weights. */
async function describeNetworks(program: Program): Promise<string[]> {
  const networks = await buildNetworks(program, undefined, false);
  try {
    checkParamGroups(program, networks);
    const lines = ["", "networks"];
    for (const plan of program.networks) {
      const flags = [plan.trainable ? "trained" : "not trained"];
      if (plan.checkpointed) flags.push("checkpointed");
      if (plan.exported) flags.push("exported");
      lines.push(
        `  ${plan.name.padEnd(8)} ${plan.describe(networks.get(plan.name)!.params)} ` +
          `[${flags.join(", ")}]`,
      );
    }
    const params = trainableParams(program, networks);
    const names = params.map((p) => p.name);
    const sizes = new Map(params.map((p) => [p.name, p.variable.size]));
    const o = program.optimizer;
    lines.push(
      "",
      `optimiser AdamW lr ${o.lr}, betas (${o.beta1}, ${o.beta2}), weight decay ` +
        `${o.weightDecay}, eps ${o.eps}; groups (longest key first, first match wins):`,
    );
    const groups = listParamGroups(names, o.rules, { lr: o.lr, weightDecay: o.weightDecay });
    for (const g of groups) {
      const n = g.names.reduce((a, name) => a + sizes.get(name)!, 0);
      lines.push(
        `  ${(g.rule ?? "(other)").padEnd(12)} lr ${Number(g.lr.toPrecision(6))} ` +
          `(×${g.lrMult}), decay ${Number(g.weightDecay.toPrecision(6))} ` +
          `(×${g.decayMult}): ${g.names.length} tensors, ${count(n)} parameters`,
      );
    }
    for (const rule of o.rules.filter((r) => !groups.some((g) => g.rule === r.key))) {
      lines.push(`  ${rule.key.padEnd(12)} matches no parameter of this model (a default key)`);
    }
    return lines;
  } finally {
    disposeNetworks(networks);
  }
}

function describeStep(program: Program): string[] {
  const lines: string[] = [];
  if (program.views.length > 0) {
    lines.push("", "views built each step (outside the gradient, in this order)");
    for (const v of program.views) {
      lines.push(`  ${v.name.padEnd(9)} by ${v.by}: ${v.describe}`);
    }
  }
  lines.push("", "forward passes per step");
  for (const pass of program.passes) {
    const [h, w] = viewCrop(program, pass.view);
    lines.push(
      `  ${pass.id.padEnd(24)} ${pass.training ? "training mode" : "eval mode"}, ` +
        `${program.data.batchSize} × ${h}×${w}; read by ${pass.readBy.join(", ")}`,
    );
  }
  lines.push("", "loss terms (total = Σ weight × term)");
  for (const term of program.terms) {
    lines.push(
      `  ${term.name.padEnd(12)} ${term.block.kind} × ${term.weight}; reads ${
        term.reads.join(", ")
      }`,
    );
  }
  lines.push(...describeLanes(program));
  for (const section of program.sections) {
    lines.push("", section.title, ...section.lines.map((l) => `  ${l}`));
  }
  return lines;
}

function describeRest(program: Program): string[] {
  const s = program.schedule;
  const e = program.evaluation.settings;
  const lines = [
    "",
    `schedule poly (power ${s.power}, min ${s.minLr}) over ${s.maxIters} iterations, linear ` +
    `warm-up ${s.warmupIters} iterations from ratio ${s.warmupRatio}`,
    "",
    `evaluation every ${e.every} iterations and at the end, whole image, ${e.protocol}-class ` +
    `mIoU, ${e.pictures} prediction pictures:`,
  ];
  for (const set of program.evaluation.sets) {
    lines.push(
      `  ${set.role.padEnd(9)} ${
        datasetFacts(set.block, `data.${set.role}`).describe
      } at scale [${set.scale}]`,
    );
  }
  lines.push("", `compute: ${(stepFlops(program) / 1e9).toFixed(2)} GFLOP per training step`);
  return lines;
}

/** The plan as text (builds the networks on the `cpu` backend to count parameters). */
export async function formatPlan(program: Program, name: string): Promise<string> {
  const x = program.experiment;
  const lines = [
    `${name}: experiment ${experimentHash(x).slice(0, 12)}, seed ${program.seed}, ` +
    `backend ${program.backend}, ${program.iterations} iterations, batch ` +
    `${program.data.batchSize} per domain`,
  ];
  const dependencies = await weightsDependencies(program);
  if (dependencies.length > 0) {
    lines.push("", "trained first (weights this experiment starts from)");
    lines.push(...dependencies.map((d) => `  ${d}`));
  }
  await useBackend("cpu");
  lines.push(...await describeNetworks(program));
  lines.push(...describeStep(program));
  lines.push("", "training data", describeData(program, "source"), describeData(program, "target"));
  lines.push(...describeRest(program));
  const kernels = program.kernels;
  try {
    await useBackend(program.backend);
    checkKernels(kernels, program.backend);
    lines.push(
      `kernels: '${program.backend}' has all ${
        new Set([...kernels.differentiated, ...kernels.backward]).size
      } kernels and the ${kernels.differentiated.length} gradients this program runs`,
    );
  } catch (error) {
    lines.push(`kernels: ${(error as Error).message}`);
  }
  tf.disposeVariables();
  return lines.join("\n") + "\n";
}

/** Runs `plan` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseExperimentArgs(args);
  if (positionals.length !== 1) {
    throw new UsageError("usage: deno task plan EXP.ts [--set path=value]... [--backend B]");
  }
  const program = compile(applyFlags(await loadExperiment(positionals[0]), values));
  console.log(await formatPlan(program, experimentName(positionals[0])));
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));

/** How `--lanes auto` splits the step (`docs/backends.md`, pass-parallel steps). */
function describeLanes(program: Program): string[] {
  const lanes = planLanes(program);
  if (lanes === undefined) return [];
  const describe = (groups: number[]) =>
    groups.map((g) => lanes.groups[g].terms.map((t) => t.name).join(" + ")).join(", ");
  const gflop = (flops: number) => `${(flops / 1e9).toFixed(2)} GFLOP`;
  return [
    "",
    "step lanes (--lanes auto on a CPU backend with 2 cores or more; same numbers with --lanes 1)",
    `  this process  ${describe(lanes.main.groups)} (${gflop(lanes.main.flops)})`,
    `  worker        ${describe(lanes.worker.groups)} (${gflop(lanes.worker.flops)})`,
  ];
}
