/**
 * Training on WebGPU through `run`, end to end: a tiny experiment for a few iterations on the
 * machine's adapter (lavapipe in CI), stopped and resumed, equals the uninterrupted run; the
 * wasm run beside it gives the step-time ratio. Ignored where no adapter exists.
 */
import { strict as assert } from "node:assert";
import { cli } from "../cli/helpers.ts";
import { fresh as freshDir, reproducible } from "./helpers.ts";
import { hasWebGpuAdapter } from "../../runtime/backend/mod.ts";
import { readMetrics } from "../../runtime/report/metrics_log.ts";

const ROOT = ".cache/test-runs";
const EXPERIMENT = "tests/fixtures/tiny.ts";
// Three iterations, one small validation image: lavapipe runs ~6 s a step on 2 cores.
const SHORT = [
  ...["run.iterations=3", "run.checkpointEvery=1", "run.logEvery=1"],
  ...["data.targetVal.count=1", "data.sourceVal=off", "evaluation.pictures=1"],
].flatMap((s) => ["--set", s]);
const hasAdapter = await hasWebGpuAdapter();

/** Median milliseconds per step of a run's logged windows after the first (shader compiles). */
async function msPerStep(dir: string): Promise<number> {
  const speeds = (await readMetrics(dir)).flatMap((r) => (r.type === "train" ? [r.itPerSec] : []));
  const later = speeds.slice(1).sort((a, b) => a - b);
  return 1000 / later[later.length >> 1];
}

Deno.test({
  name: "webgpu: a tiny run trains, stops, resumes and equals the uninterrupted run",
  ignore: !hasAdapter,
  async fn() {
    const whole = await freshDir(ROOT, "webgpu-whole");
    const run = await cli("run", [EXPERIMENT, "--backend", "webgpu", ...SHORT, "--out", whole]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /clearRect|synchronous|XDG_RUNTIME_DIR/, run.stderr);
    assert.match(run.stdout, /targetVal mIoU \(19\): \d+\.\d/);
    const split = await freshDir(ROOT, "webgpu-split");
    const args = [EXPERIMENT, "--backend", "webgpu", ...SHORT, "--out", split];
    const stopped = await cli("run", [...args, "--stop-after", "1"]);
    assert.equal(stopped.code, 130, stopped.stderr);
    const resumed = await cli("run", args);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming .* from iteration 1/);
    assert.deepEqual(await reproducible(split), await reproducible(whole));
    const wasm = await freshDir(ROOT, "webgpu-wasm-side");
    assert.equal((await cli("run", [EXPERIMENT, ...SHORT, "--out", wasm])).code, 0);
    const [gpu, cpu] = [await msPerStep(whole), await msPerStep(wasm)];
    console.log(
      `tiny experiment: webgpu ${gpu.toFixed(0)} ms/step, wasm ${cpu.toFixed(0)} ms/step`,
    );
  },
});
