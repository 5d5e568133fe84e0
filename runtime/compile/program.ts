/**
 * Lowering: an experiment becomes a *program* — the networks to build, the views derived each
 * step, the forward passes (each distinct pass once, shared by the terms that read it), the loss
 * terms, hooks, metrics, the optimiser groups, the data pipelines and the evaluation plan.
 *
 * The compiler knows no block kinds: it hands every block to the runtime module registered for
 * its kind (`runtime/blocks/`), which declares what it adds through a {@linkcode ProgramBuilder}.
 * The program is plain data apart from the functions modules declare, so `plan` can print it
 * without allocating a tensor.
 *
 * @module
 */
import type { AnyBlock, Experiment, PipelineParams } from "../../dsl/mod.ts";
import { experimentHash } from "../../dsl/mod.ts";
import { SECTION_PLACES } from "../../dsl/sections.ts";
import type { BackendName } from "../backend/mod.ts";
import type { AdamWOptions } from "../optim/adamw.ts";
import type { ParamRule } from "../optim/param_groups.ts";
import { type PolySchedule, validateSchedule } from "../optim/schedule.ts";
import type { PipelineSpec } from "../data/transforms/pipeline.ts";
import { ADAMW_KERNELS, EVALUATION_KERNELS, type KernelUse, mergeKernelUses } from "./kernels.ts";
import "../blocks/mod.ts";
import { blockModule } from "../blocks/registry.ts";
import type {
  DataPlan,
  DatasetFacts,
  EvalSetPlan,
  FigurePlan,
  HookPlan,
  MetricPlan,
  NetworkPlan,
  PassRequest,
  PassSettingPlan,
  Place,
  PlanSection,
  ProgramBuilder,
  Role,
  TermPlan,
  ViewPlan,
} from "../blocks/types.ts";
import { passId } from "../blocks/types.ts";

export type { DataPlan, EvalSetPlan, NetworkPlan, Role, TermPlan, ViewPlan };

/** A forward pass of every step, with the terms (or views) that read it. */
export interface PassPlan extends PassRequest {
  /** `student@source`. */
  id: string;
  /** Names of the terms that read it. */
  readBy: string[];
}

/** A lowered experiment. */
export interface Program {
  /** The experiment it came from. */
  experiment: Experiment;
  /** Its hash (without the seed). */
  hash: string;
  /** Root seed. */
  seed: number;
  /** Backend to run on. */
  backend: BackendName;
  /** Networks and trainable modules, in build order (the student first). */
  networks: NetworkPlan[];
  /** Views derived each step, in the order they are built. */
  views: ViewPlan[];
  /** Forward passes per step (terms' passes; views run theirs when they are built). */
  passes: PassPlan[];
  /** Loss terms. */
  terms: TermPlan[];
  /** Step hooks. */
  hooks: HookPlan[];
  /** Changes modules make to passes from some iteration on. */
  passSettings: PassSettingPlan[];
  /** Per-step metrics besides the loss terms. */
  metrics: MetricPlan[];
  /** Lines `plan` prints for the modules. */
  sections: PlanSection[];
  /** Pictures the modules add to the report at every evaluation. */
  figures: FigurePlan[];
  /** AdamW settings with the parameter-group rules (the experiment's, then modules'). */
  optimizer: AdamWOptions;
  /** Learning-rate schedule over the run. */
  schedule: PolySchedule;
  /** Training iterations. */
  iterations: number;
  /** Training data (only the roles some pass or view reads) and batching. */
  data: { train: DataPlan[]; batchSize: number; workers: number };
  /** Validation sets and settings. */
  evaluation: { sets: EvalSetPlan[]; settings: Experiment["evaluation"] };
  /** Every kernel a step and an evaluation run. */
  kernels: KernelUse;
}

const ROLES: readonly Role[] = ["source", "target"];

/** The runtime facts of a dataset block, from its kind's module. */
export function datasetFacts(block: AnyBlock, path: string): DatasetFacts {
  const module = blockModule(block.kind, path);
  if (module.dataset === undefined) throw new Error(`${path}: '${block.kind}' is not a dataset`);
  return module.dataset(block, path);
}

function rulesOf(experiment: Experiment, networks: NetworkPlan[]): ParamRule[] {
  const rules: ParamRule[] = Object.entries(experiment.optimizer.paramGroups).map((
    [key, m],
  ) => ({ key, lrMult: m.lrMult, decayMult: m.decayMult }));
  for (const network of networks) {
    for (const rule of network.paramGroups ?? []) {
      if (!rules.some((r) => r.key === rule.key)) rules.push(rule);
    }
  }
  return rules;
}

/** Orders views so each comes after every other provider of the views it reads. */
function orderViews(views: ViewPlan[]): ViewPlan[] {
  const ordered: ViewPlan[] = [];
  const pending = [...views];
  while (pending.length > 0) {
    const ready = pending.findIndex((v) =>
      v.reads.every((name) => !pending.some((p) => p !== v && p.name === name))
    );
    if (ready < 0) {
      throw new Error(
        `views form a cycle: ${pending.map((v) => `${v.by} (${v.name})`).join(", ")}`,
      );
    }
    ordered.push(pending.splice(ready, 1)[0]);
  }
  return ordered;
}

/** Collects what the modules declare. */
class Builder implements ProgramBuilder {
  readonly networks: NetworkPlan[] = [];
  readonly views: ViewPlan[] = [];
  readonly terms: TermPlan[] = [];
  readonly hooks: HookPlan[] = [];
  readonly passSettings: PassSettingPlan[] = [];
  readonly metrics: MetricPlan[] = [];
  readonly kernels: KernelUse[] = [];
  readonly sections: PlanSection[] = [];
  readonly figures: FigurePlan[] = [];
  readonly preparations = new Map<Role, DataPlan["prepare"]>();
  readonly adjustments = new Map<Role, ((p: PipelineSpec) => PipelineSpec)[]>();

  constructor(readonly experiment: Experiment) {}

  addNetwork(plan: NetworkPlan): void {
    if (!this.networks.some((n) => n.name === plan.name)) this.networks.push(plan);
  }
  addView(plan: ViewPlan): void {
    this.views.push(plan);
  }
  addTerm(plan: TermPlan): void {
    this.terms.push(plan);
  }
  addHook(plan: HookPlan): void {
    this.hooks.push(plan);
  }
  addPassSetting(plan: PassSettingPlan): void {
    this.passSettings.push(plan);
  }
  addMetric(plan: MetricPlan): void {
    if (!this.metrics.some((m) => m.key === plan.key)) this.metrics.push(plan);
  }
  addKernels(use: KernelUse): void {
    this.kernels.push(use);
  }
  addPlanSection(section: PlanSection): void {
    const same = this.sections.find((s) => s.title === section.title);
    if (same) same.lines.push(...section.lines);
    else this.sections.push({ title: section.title, lines: [...section.lines] });
  }
  addFigure(plan: FigurePlan): void {
    this.figures.push(plan);
  }
  prepareData(role: Role, prepare: DataPlan["prepare"][number]): void {
    this.preparations.set(role, [...(this.preparations.get(role) ?? []), prepare]);
  }
  adjustPipeline(role: Role, adjust: (pipeline: PipelineSpec) => PipelineSpec): void {
    this.adjustments.set(role, [...(this.adjustments.get(role) ?? []), adjust]);
  }
  lower(block: AnyBlock, place: Place): void {
    blockModule(block.kind, place.path).lower?.(block, this, place);
  }
  dataset(block: AnyBlock, path: string): DatasetFacts {
    return datasetFacts(block, path);
  }
}

/** Every block of the experiment that a module lowers, with its place, in a fixed order. */
function placedBlocks(x: Experiment): [AnyBlock, Place][] {
  const placed: [AnyBlock, Place][] = [[x.model, { path: "model" }]];
  for (const [name, block] of Object.entries(x.losses)) {
    placed.push([block, { path: `losses.${name}`, term: name }]);
  }
  // Optional sections (teacher, mixing, resolution, ...) in their canonical order.
  const sections = x as unknown as Record<string, AnyBlock | undefined>;
  for (const [section, place] of Object.entries(SECTION_PLACES)) {
    if (place.optional && sections[section] !== undefined) {
      placed.push([sections[section]!, { path: section }]);
    }
  }
  if (x.data.sampling !== undefined) placed.push([x.data.sampling, { path: "data.sampling" }]);
  return placed;
}

/** The data roles (and their labels) the program's passes, views and terms read. */
function dataNeeds(b: Builder, passes: PassPlan[]): { roles: Set<Role>; labelled: Set<Role> } {
  const roles = new Set<Role>();
  const labelled = new Set<Role>();
  const provided = new Set(b.views.map((v) => v.name));
  const visit = (name: string, seen: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    if ((ROLES as readonly string[]).includes(name)) roles.add(name as Role);
    for (const view of b.views.filter((v) => v.name === name)) {
      view.labels?.forEach((r) => labelled.add(r));
      view.inputs?.forEach((r) => roles.add(r));
      view.reads.forEach((r) => visit(r, seen));
    }
  };
  for (const pass of passes) visit(pass.view, new Set());
  for (const term of b.terms) {
    for (const view of term.views) {
      visit(view, new Set());
      // A term reads ground truth where no module re-provides the role's supervision.
      if ((ROLES as readonly string[]).includes(view) && !provided.has(view)) {
        labelled.add(view as Role);
      }
    }
  }
  return { roles, labelled };
}

function trainData(b: Builder, x: Experiment, passes: PassPlan[]): DataPlan[] {
  const { roles, labelled } = dataNeeds(b, passes);
  return ROLES.filter((r) => roles.has(r)).map((role) => {
    const facts = datasetFacts(x.data[role], `data.${role}`);
    const pipeline = (b.adjustments.get(role) ?? []).reduce(
      (p, adjust) => adjust(p),
      { ...facts.pipeline, order: "shuffle" } as PipelineSpec,
    );
    return {
      role,
      block: x.data[role],
      source: {
        module: new URL("../data/open.ts", import.meta.url).href,
        exportName: "openDataset",
        options: facts.request,
      },
      pipeline,
      labelled: labelled.has(role),
      prepare: b.preparations.get(role) ?? [],
    };
  });
}

function collectPasses(b: Builder): PassPlan[] {
  const passes = new Map<string, PassPlan>();
  const add = (request: PassRequest, reader: string) => {
    const id = passId(request);
    if (!passes.has(id)) passes.set(id, { ...request, id, readBy: [] });
    passes.get(id)!.readBy.push(reader);
  };
  for (const term of b.terms) for (const pass of term.passes) add(pass, term.name);
  for (const view of b.views) for (const pass of view.passes ?? []) add(pass, `${view.name} view`);
  return [...passes.values()];
}

/** Lowers a validated experiment. */
export function compile(experiment: Experiment): Program {
  const b = new Builder(experiment);
  for (const [block, place] of placedBlocks(experiment)) b.lower(block, place);
  const views = orderViews(b.views);
  const passes = collectPasses(b);
  const sets: EvalSetPlan[] = [];
  for (const role of ["targetVal", "sourceVal"] as const) {
    const block = experiment.data[role];
    if (block === undefined) continue;
    const request = datasetFacts(block, `data.${role}`).request;
    sets.push({ role, block, request, scale: (block as unknown as PipelineParams).scale });
  }
  const schedule: PolySchedule = {
    maxIters: experiment.run.iterations,
    power: experiment.schedule.power,
    minLr: experiment.schedule.minLr,
    warmupIters: experiment.schedule.warmupIters,
    warmupRatio: experiment.schedule.warmupRatio,
  };
  validateSchedule(schedule);
  const { lr, beta1, beta2, weightDecay, eps } = experiment.optimizer;
  return {
    experiment,
    hash: experimentHash(experiment),
    seed: experiment.run.seed,
    backend: experiment.run.backend,
    networks: b.networks,
    views,
    passes,
    terms: b.terms,
    hooks: b.hooks,
    passSettings: b.passSettings,
    metrics: b.metrics,
    sections: b.sections,
    figures: b.figures,
    optimizer: { lr, beta1, beta2, weightDecay, eps, rules: rulesOf(experiment, b.networks) },
    schedule,
    iterations: experiment.run.iterations,
    data: {
      train: trainData(b, experiment, passes),
      batchSize: experiment.data.loader.batchSize,
      workers: experiment.data.loader.workers,
    },
    evaluation: { sets, settings: experiment.evaluation },
    kernels: mergeKernelUses([...b.kernels, ADAMW_KERNELS, EVALUATION_KERNELS]),
  };
}

/** Crop `[height, width]` of the samples a view holds (derived views: their first read). */
export function viewCrop(program: Program, view: string): readonly [number, number] {
  if ((ROLES as readonly string[]).includes(view)) {
    return (program.experiment.data[view as Role] as unknown as PipelineParams).crop;
  }
  const plan = program.views.find((v) => v.name === view);
  const first = plan?.reads[0] ?? plan?.inputs?.[0];
  if (first === undefined) throw new Error(`no view '${view}' in this program`);
  return viewCrop(program, first);
}

/**
 * FLOPs of one training step: each training pass counts 3× its forward FLOPs (forward, input
 * gradient, weight gradient), each evaluation-mode pass 1× (the frozen encoder's is counted with
 * a head, an upper bound).
 */
export function stepFlops(program: Program): number {
  let total = 0;
  for (const pass of program.passes) {
    const network = program.networks.find((n) => n.name === pass.network);
    const [height, width] = viewCrop(program, pass.view);
    const flops = network?.flops?.({
      batch: program.data.batchSize,
      height,
      width,
      training: pass.training,
    }) ?? 0;
    total += pass.training ? 3 * flops : flops;
  }
  return total;
}
