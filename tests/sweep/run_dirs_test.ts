/**
 * One experiment, one run directory: a direct `deno task run` of a file and a sweep's variant
 * that define the same experiment (equal hash) share their run directory, whichever ran first,
 * and `deno task results SWEEP.ts` tabulates a sweep in one command. The runs root is
 * `UDA_RUNS` (here inside `.cache`).
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { experimentHash } from "../../dsl/mod.ts";
import { applyFlags, loadExperiment } from "../../runtime/cli/experiment_file.ts";
import { exists } from "../../runtime/io/exists.ts";
import { cli, task } from "../cli/helpers.ts";

const ROOT = ".cache/test-run-dirs";
const SWEEP = "tests/fixtures/tiny_sweep.ts";
const SHORT = "tests/fixtures/tiny_short.ts";

Deno.test("a sweep reuses a direct run of the same experiment, and a direct run a sweep's", async () => {
  const hash = experimentHash(await loadExperiment(SHORT));
  const variant = applyFlags(await loadExperiment("tests/fixtures/tiny.ts"), {
    set: ["run.iterations=2"],
  });
  assert.equal(experimentHash(variant), hash, "tiny_short.ts is tiny.ts --set run.iterations=2");
  const h12 = hash.slice(0, 12);
  await Deno.remove(ROOT, { recursive: true }).catch(() => {});
  const runs = join(ROOT, "runs");
  const env = { UDA_RUNS: runs };

  // Seed 0 run directly: runs/tiny_short/<hash>-s0.
  const direct = await task("run", [SHORT], env);
  assert.equal(direct.code, 0, direct.stderr);
  assert.ok(direct.stderr.startsWith(`tiny_short: ${runs}/tiny_short/${h12}-s0\n`), direct.stderr);

  // The sweep's seed 0 is that run; its seed 1 gets the sweep's own name.
  const show = await cli("sweep", ["show", SWEEP], undefined, env);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(show.stdout.includes(`  seed 0  ${runs}/tiny_short/${h12}-s0\n`), show.stdout);
  assert.ok(show.stdout.includes(`  seed 1  ${runs}/tiny/${h12}-s1\n`), show.stdout);
  const swept = await cli(
    "sweep",
    ["run", SWEEP, "--executor", "local", "--jobs", "1"],
    undefined,
    env,
  );
  assert.equal(swept.code, 0, swept.stderr);
  assert.equal(await exists(join(runs, "tiny", `${h12}-s0`)), false, "seed 0 was trained twice");
  assert.ok(await exists(join(runs, "tiny", `${h12}-s1`, "weights.safetensors")));

  // And the other way: a direct run of seed 1 finds the sweep's run and has nothing to do.
  const again = await task("run", [SHORT, "--seed", "1"], env);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(again.stderr.startsWith(`tiny_short: ${runs}/tiny/${h12}-s1\n`), again.stderr);
  assert.match(again.stderr, /has already finished 2 iterations; nothing to do/);
  assert.equal(await exists(join(runs, "tiny_short", `${h12}-s1`)), false);

  // The sweep's table in one command, from either task.
  const results = await task("results", [SWEEP], env);
  assert.equal(results.code, 0, results.stderr);
  assert.match(results.stdout, new RegExp(`\\| tiny/run.iterations=2 \\| \`${h12}\` \\| 2 \\| `));
  const viaSweep = await cli("sweep", ["results", SWEEP], undefined, env);
  assert.equal(viaSweep.stdout, results.stdout);
  await Deno.remove(ROOT, { recursive: true });
});
