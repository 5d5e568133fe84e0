/**
 * The main process's side of a step split over two processes: it starts the lane worker, hands it
 * each step's data and the parameter values it reads, and returns its result.
 *
 * A network that is neither trained nor checkpointed (the frozen ImageNet encoder) cannot change
 * during a run — a resumed run would otherwise differ — so its values cross once; every other
 * network's cross every step, after the before-step hooks (the teacher's EMA update).
 *
 * @module
 */
import type { Program } from "../compile/program.ts";
import type { Network } from "../blocks/types.ts";
import type { RandomState } from "../random.ts";
import type { LanePlan } from "./lanes.ts";
import type { Networks, StepInputs } from "./step_state.ts";
import {
  type EvaluateResult,
  type LaneReply,
  type LaneRequest,
  type StepRequest,
  type StepResult,
  toHost,
  viewToHost,
} from "./lane_protocol.ts";

/** A started lane worker. */
export class LaneWorker {
  readonly #worker: Worker;
  readonly #program: Program;
  #waiting: { resolve(reply: LaneReply): void; reject(error: Error): void } | undefined;
  #constantsSent = false;
  #closed = false;
  /** Steps the worker has run (the tests check that a split step really went there). */
  stepsRun = 0;

  private constructor(program: Program, readonly plan: LanePlan) {
    this.#program = program;
    this.#worker = new Worker(new URL("./lane_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<LaneReply>) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.resolve(event.data);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(new Error(`lane worker failed: ${event.message}`));
    };
  }

  /** Starts a worker for `plan`'s worker lane on `threads` compute threads. */
  static async start(program: Program, plan: LanePlan, threads: number): Promise<LaneWorker> {
    const lane = new LaneWorker(program, plan);
    try {
      await lane.#request({
        type: "init",
        experiment: program.experiment,
        hash: program.hash,
        threads,
        groups: plan.worker.groups,
      });
    } catch (error) {
      lane.close();
      throw error;
    }
    return lane;
  }

  /**
   * Sends step `iteration` (its random stream's state, its data and the current parameter values, read now) and resolves
   * with the worker's result.
   */
  run(
    iteration: number,
    rng: RandomState,
    inputs: StepInputs,
    networks: Networks,
  ): Promise<StepResult> {
    const weights: StepRequest["weights"] = [];
    for (const plan of this.#program.networks) {
      const constant = !plan.trainable && !plan.checkpointed;
      if (constant && this.#constantsSent) continue;
      const params = networks.get(plan.name)!.params.list();
      weights.push({ network: plan.name, values: params.map((p) => toHost(p.variable)) });
    }
    this.#constantsSent = true;
    const request: StepRequest = {
      type: "step",
      iteration,
      rng,
      inputs: [...inputs].map(([role, view]) => viewToHost(role, view)),
      weights,
    };
    this.stepsRun += 1;
    return this.#request(request) as Promise<StepResult>;
  }

  /**
   * Counts images `[start, end)` of validation set `set` in the worker with `student`'s current
   * values, and resolves with its confusion counts (and temporal-consistency counts).
   */
  async evaluate(
    set: string,
    start: number,
    end: number,
    student: Network,
  ): Promise<EvaluateResult> {
    const weights = student.params.list().map((p) => toHost(p.variable));
    return await this.#request({ type: "evaluate", set, start, end, weights }) as EvaluateResult;
  }

  /** Stops the worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    this.#waiting?.reject(new Error("lane worker closed"));
    this.#waiting = undefined;
  }

  async #request(request: LaneRequest): Promise<LaneReply> {
    if (this.#closed) throw new Error("lane worker: used after close()");
    if (this.#waiting !== undefined) throw new Error("lane worker: one request at a time");
    const reply = await new Promise<LaneReply>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#worker.postMessage(request);
    });
    if (reply.type === "error") throw new Error(`lane worker: ${reply.message}`);
    return reply;
  }
}
