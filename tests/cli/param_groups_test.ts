import { strict as assert } from "node:assert";
import { cli } from "./helpers.ts";
import { exists } from "../../runtime/io/exists.ts";

const BAD = 'optimizer.paramGroups.hed={"lrMult":10,"decayMult":1}';

Deno.test("a parameter-group key that matches no parameter: one paragraph, exit 2, no run directory", async () => {
  const out = ".cache/test-runs/bad-group";
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const run = await cli("run", ["tests/fixtures/tiny.ts", "--out", out, "--set", BAD]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /optimizer\.paramGroups\.hed: the key matches no trainable parameter .*did you mean 'head'\?/,
  );
  assert.equal(run.stderr.trim().split("\n").filter((l) => l.startsWith("error")).length, 1);
  assert.equal(await exists(out), false, "no run directory is left behind");
  const plan = await cli("plan", ["tests/fixtures/tiny.ts", "--set", BAD]);
  assert.equal(plan.code, 2);
  assert.match(plan.stderr, /optimizer\.paramGroups\.hed/);
  // The published default keys stay allowed even where the model has no such parameter.
  const fine = await cli("plan", ["tests/fixtures/tiny.ts"]);
  assert.equal(fine.code, 0, fine.stderr);
  assert.match(fine.stdout, /pos_block +matches no parameter of this model \(a default key\)/);
});

Deno.test("plan says which weights experiment will be trained first, and for about how long", async () => {
  const plan = await cli("plan", ["experiments/source_only.ts"]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(
    plan.stdout,
    /trained first[^\n]*\n {2}experiments\/pretrain\.ts: (will be trained first into runs\/pretrain\/[0-9a-f]{12}-s0 \(\d+ of 1000 iterations done; about \d+ (min|s) [^)]*\)|finished)/,
  );
});
