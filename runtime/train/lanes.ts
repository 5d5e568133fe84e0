/**
 * How a training step splits into independent pieces, and which of them a second process can
 * run at the same time (issue 12's pass-parallel step).
 *
 * Terms that read the same trained pass must be differentiated on one tape; terms that share none
 * are independent (DAFormer: `ce` and `fd` on `student@source`, `mix` on `student@mixed`). Each
 * such *group* is differentiated on its own tape, and the step's gradient is the sum of the
 * groups' gradients in a fixed order, so a step gives the same numbers whether its groups run one
 * after another or in two processes at once. A *lane* is the set of groups one process runs, with
 * the views and the untrained passes they need (a lane repeats the views both lanes read).
 *
 * @module
 */
import { passId, type PassRequest, type TermPlan } from "../blocks/types.ts";
import { type Program, viewCrop } from "../compile/program.ts";

/** Terms differentiated together: they share trained passes, transitively. */
export interface TermGroup {
  /** Position in the step: groups are numbered in the order of their first term. */
  index: number;
  /** Its terms, in program order. */
  terms: TermPlan[];
  /** Whether one of its terms leaves state a hook reads, so it runs where the hooks run. */
  pinned: boolean;
}

/** What one process runs of a step. */
export interface Lane {
  /** Indices of its groups, ascending. */
  groups: number[];
  /** Names of the views it builds (program order decides the build order). */
  views: Set<string>;
  /** Its estimated cost in FLOPs (training passes 3×, the rest 1×). */
  flops: number;
}

/** A step split over two processes: the main one (which runs the hooks) and a worker. */
export interface LanePlan {
  /** Every group of the step. */
  groups: TermGroup[];
  /** What the main process runs. */
  main: Lane;
  /** What the worker runs. */
  worker: Lane;
}

function trained(program: Program, request: PassRequest): boolean {
  return program.networks.find((n) => n.name === request.network)?.trainable ?? false;
}

/** The program's terms grouped by the trained passes they share, in step order. */
export function termGroups(program: Program): TermGroup[] {
  const groupOfPass = new Map<string, number>();
  const parent: number[] = [];
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  program.terms.forEach((term, i) => {
    parent.push(i);
    for (const pass of term.passes.filter((p) => trained(program, p))) {
      const id = passId(pass);
      const other = groupOfPass.get(id);
      if (other === undefined) groupOfPass.set(id, i);
      else parent[find(i)] = find(other);
    }
  });
  const byRoot = new Map<number, TermPlan[]>();
  program.terms.forEach((term, i) => {
    const root = find(i);
    byRoot.set(root, [...(byRoot.get(root) ?? []), term]);
  });
  // Map iteration follows first insertion, which is the order of each group's first term.
  return [...byRoot.values()].map((terms, index) => ({
    index,
    terms,
    pinned: terms.some((t) => t.feedsHooks === true),
  }));
}

/** The views a set of terms reads, closed over what those views read. */
export function viewsRead(program: Program, terms: readonly TermPlan[]): Set<string> {
  const needed = new Set<string>();
  for (const term of terms) {
    for (const view of [...term.views, ...term.passes.map((p) => p.view)]) needed.add(view);
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const view of program.views) {
      if (!needed.has(view.name)) continue;
      for (const read of view.reads) {
        if (!needed.has(read)) {
          needed.add(read);
          grew = true;
        }
      }
    }
  }
  // A data role stays in: a module may re-provide it (the teacher adds pseudo-labels to `target`).
  return needed;
}

function passFlops(program: Program, request: PassRequest): number {
  const network = program.networks.find((n) => n.name === request.network);
  const [height, width] = viewCrop(program, request.view);
  const batch = program.data.batchSize;
  const flops = network?.flops?.({ batch, height, width, training: request.training }) ?? 0;
  return request.training ? 3 * flops : flops;
}

/** The lane that runs `groups`: its views and its cost, each distinct pass counted once. */
export function laneOf(program: Program, all: readonly TermGroup[], groups: number[]): Lane {
  const terms = groups.flatMap((g) => all[g].terms);
  const views = viewsRead(program, terms);
  const passes = new Map<string, PassRequest>();
  for (const term of terms) for (const pass of term.passes) passes.set(passId(pass), pass);
  for (const view of program.views.filter((v) => views.has(v.name))) {
    for (const pass of view.passes ?? []) passes.set(passId(pass), pass);
  }
  let flops = 0;
  for (const pass of passes.values()) flops += passFlops(program, pass);
  return { groups, views, flops };
}

/**
 * The best split of the step over a main process and one worker: the one whose slower lane costs
 * least (groups whose terms feed hooks stay in the main process), or undefined when the step has
 * a single group or no split beats running everything in one process.
 */
export function planLanes(program: Program): LanePlan | undefined {
  const groups = termGroups(program);
  if (groups.length < 2 || groups.length > 12) return undefined;
  const all = groups.map((g) => g.index);
  let best: LanePlan | undefined;
  let bestCost = laneOf(program, groups, all).flops;
  // Every split with a non-empty lane each; ties keep the earlier groups in the main process.
  for (let mask = 1; mask < 2 ** groups.length - 1; mask++) {
    const worker = all.filter((g) => (mask >> (groups.length - 1 - g)) & 1);
    if (worker.some((g) => groups[g].pinned)) continue;
    const main = all.filter((g) => !worker.includes(g));
    const lanes = { main: laneOf(program, groups, main), worker: laneOf(program, groups, worker) };
    const cost = Math.max(lanes.main.flops, lanes.worker.flops);
    if (cost < bestCost) {
      bestCost = cost;
      best = { groups, ...lanes };
    }
  }
  return best;
}

/**
 * The order in which a one-process step runs its passes (views in build order, the untrained
 * passes, then each group's trained passes): BatchNorm running-statistics updates recorded in two
 * processes are replayed in this order, so both ways of running a step leave the same buffers.
 */
export function passOrder(program: Program, groups: readonly TermGroup[]): string[] {
  const order = new Set<string>();
  for (const view of program.views) for (const pass of view.passes ?? []) order.add(passId(pass));
  for (const pass of program.passes) if (!trained(program, pass)) order.add(pass.id);
  for (const group of groups) {
    for (const term of group.terms) for (const pass of term.passes) order.add(passId(pass));
  }
  return [...order];
}
