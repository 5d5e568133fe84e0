/**
 * `deno task plan EXP.ts [--set ...] [--backend B]`: what a run would do, without running it —
 * networks and parameter counts, forward passes per step and which terms read them, loss terms,
 * data pipelines (and which data no term reads), optimiser groups, schedule, evaluation, FLOPs
 * per step, and whether the backend has every kernel and gradient the program needs.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { useBackend } from "../backend/mod.ts";
import { checkKernels } from "../compile/kernels.ts";
import { compile, type Program, stepFlops } from "../compile/program.ts";
import { createSegmentor } from "../nn/segmentor.ts";
import { listParamGroups } from "../optim/param_groups.ts";
import { experimentHash } from "../../dsl/mod.ts";
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
  const block = program.experiment.data[role];
  const what = block.kind === "synthCity"
    ? `synthCity ${block.domain} (${block.count} images, seed ${block.seed})`
    : `${block.kind} ${block.root} (${block.split})`;
  if (plan === undefined) return `  ${role.padEnd(9)} ${what}: read by no term, not loaded`;
  const p = plan.pipeline;
  const resize = p.resize.kind === "keepRatio"
    ? `resize ≤ ${p.resize.maxLong}×${p.resize.maxShort} keep-ratio`
    : "native size";
  const r = plan.sampling;
  const sampling = r === undefined
    ? "uniform sampling"
    : `rare-class sampling (T ${r.temperature}, images with > ${
      r.minPixels * r.pixelScale
    } px of the class, crops with > ${r.minPixels * r.minCropRatio * r.pixelScale} px)`;
  return `  ${role.padEnd(9)} ${what}: ${resize}, crop ${p.crop.height}×${p.crop.width} ` +
    `(cat_max_ratio ${p.catMaxRatio}), flip ${p.flip}; labels ${
      plan.labelled ? "read" : "not read"
    }; ${sampling}`;
}

function describeSelfTraining(program: Program): string[] {
  const { teacher, mixing } = program.selfTraining;
  if (teacher === undefined) return [];
  const [top, bottom, left, right] = teacher.margins;
  const lines = [
    "",
    "self-training",
    `  teacher    EMA of the student, α_t = min(1 − 1/(t+1), ${teacher.alpha}), updated at ` +
    `the start of each step; pseudo-labels with dropout/drop-path off, BatchNorm on batch ` +
    `statistics; weight q = share of pixels with p ≥ ${teacher.threshold} per ${teacher.confidence}; ` +
    `margins top ${top}, bottom ${bottom}, left ${left}, right ${right} of the crop weigh 0`,
  ];
  if (mixing !== undefined) {
    lines.push(
      `  mixing     ClassMix, half of the classes of each source ${mixing.classPool}; colour ` +
        `jitter p ${mixing.jitterProbability} (strength ${mixing.jitterStrength}), blur p ` +
        `${mixing.blurProbability} (σ ∈ [${mixing.blurSigma}])`,
    );
  }
  return lines;
}

/** The plan as text (builds the network on the `cpu` backend to count parameters). */
export async function formatPlan(program: Program, name: string): Promise<string> {
  const lines: string[] = [];
  const x = program.experiment;
  lines.push(
    `${name}: experiment ${experimentHash(x).slice(0, 12)}, seed ${program.seed}, ` +
      `backend ${program.backend}, ${program.iterations} iterations, batch ` +
      `${program.data.batchSize} per domain`,
  );
  lines.push("", "networks");
  await useBackend("cpu");
  const net = program.networks[0];
  const model = createSegmentor(net.spec, { ...net.options, seed: 0 });
  const names = model.params.trainable().map((p) => p.name);
  const sizes = new Map(model.params.trainable().map((p) => [p.name, p.variable.size]));
  const sum = (prefix: string) =>
    names.filter((n) => n.startsWith(prefix)).reduce((a, n) => a + sizes.get(n)!, 0);
  lines.push(
    `  ${net.name}  ${net.spec.encoder} + ${net.spec.decoder} head (${net.options.channels} channels, ${net.options.numClasses} classes): ${
      count(sum(""))
    } parameters ` +
      `(encoder ${count(sum("backbone."))}, decoder ${count(sum("decode_head."))}); ` +
      `initial encoder weights: ${net.pretrained === "" ? "random" : net.pretrained}`,
  );
  for (const other of program.networks.slice(1)) {
    lines.push(
      other.name === "teacher"
        ? `  teacher  the student's architecture, ${count(sum(""))} parameters, no gradients ` +
          `(an exponential moving average of the student)`
        : `  frozen   ${other.spec.encoder} encoder, ${
          count(sum("backbone."))
        } parameters, no gradients; weights: ${other.pretrained}`,
    );
  }
  lines.push("", "forward passes per step");
  for (const pass of program.passes) {
    const block = x.data[pass.input === "mixed" ? "source" : pass.input];
    lines.push(
      `  ${pass.id.padEnd(22)} ${pass.training ? "training mode" : "eval mode"}, ` +
        `${program.data.batchSize} × ${block.crop[0]}×${block.crop[1]}; read by ${
          pass.readBy.join(", ")
        }`,
    );
  }
  lines.push("", "loss terms (total = Σ weight × term)");
  const supervisionName = {
    source: "source.labels",
    target: "pseudo-labels",
    mixed: "mixed.labels",
  };
  for (const term of program.terms) {
    const reads = term.block.kind === "featureDistance"
      ? ["student@source.features[3]", "frozen@source:eval.features[3]", "source.labels (mask)"]
      : [
        ...term.passes.map((p) => `${p}.logits`),
        ...term.supervision.map((b) => supervisionName[b]),
      ];
    lines.push(
      `  ${term.name.padEnd(12)} ${term.block.kind} × ${term.weight}; reads ${reads.join(", ")}`,
    );
  }
  lines.push(...describeSelfTraining(program));
  lines.push("", "training data");
  lines.push(describeData(program, "source"), describeData(program, "target"));
  const o = program.optimizer;
  lines.push(
    "",
    `optimiser AdamW lr ${o.lr}, betas (${o.beta1}, ${o.beta2}), weight decay ${o.weightDecay}, ` +
      `eps ${o.eps}; groups (longest key first, first match wins):`,
  );
  for (const g of listParamGroups(names, o.rules, { lr: o.lr, weightDecay: o.weightDecay })) {
    const params = g.names.reduce((a, n) => a + sizes.get(n)!, 0);
    lines.push(
      `  ${(g.rule ?? "(other)").padEnd(12)} lr ${Number(g.lr.toPrecision(6))} (×${g.lrMult}), ` +
        `decay ${Number(g.weightDecay.toPrecision(6))} ` +
        `(×${g.decayMult}): ${g.names.length} tensors, ${count(params)} parameters`,
    );
  }
  model.params.dispose();
  const s = program.schedule;
  lines.push(
    "",
    `schedule poly (power ${s.power}, min ${s.minLr}) over ${s.maxIters} iterations, linear ` +
      `warm-up ${s.warmupIters} iterations from ratio ${s.warmupRatio}`,
  );
  const e = program.evaluation.settings;
  lines.push(
    "",
    `evaluation every ${e.every} iterations and at the end, whole image, ${e.protocol}-class ` +
      `mIoU, ${e.pictures} prediction pictures:`,
  );
  for (const set of program.evaluation.sets) {
    const b = set.block;
    lines.push(
      `  ${set.role.padEnd(9)} ${
        b.kind === "synthCity"
          ? `synthCity ${b.domain} (${b.count} images, seed ${b.seed})`
          : `${b.kind} ${b.root} (${b.split})`
      } at scale [${set.scale}]`,
    );
  }
  lines.push("", `compute: ${(stepFlops(program) / 1e9).toFixed(2)} GFLOP per training step`);
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
