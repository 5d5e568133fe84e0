/**
 * Outputs anywhere: `deno task run --out DIR` and `UDA_RUNS=DIR` outside the project (where the
 * task may not write) re-execute `run` with exactly that directory granted, and `sweep
 * --runs-root DIR` likewise; a directory that cannot be written is one paragraph with exit 2,
 * before anything is trained. The temporary folders outside the project are made, read and
 * removed through a Deno with all permissions, since this test may write only `.cache/`.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { cli, privileged, task } from "./helpers.ts";

const TINY = "tests/fixtures/tiny.ts";

/** A new folder in the system's temporary folder, outside the project. */
function outside(): Promise<string> {
  return privileged(`console.log(Deno.makeTempDirSync({ prefix: "uda-out-" }))`);
}

/** Every path under `dir`, relative to it, sorted. */
async function listing(dir: string): Promise<string[]> {
  return JSON.parse(
    await privileged(
      `const walk = (d, p = "") => [...Deno.readDirSync(d)].flatMap((e) => ` +
        `[p + e.name, ...(e.isDirectory ? walk(d + "/" + e.name, p + e.name + "/") : [])]); ` +
        `console.log(JSON.stringify(walk(Deno.args[0]).sort()));`,
      [dir],
    ),
  );
}

const remove = (dir: string) =>
  privileged(`Deno.removeSync(Deno.args[0], { recursive: true });`, [dir]);

Deno.test("run --out and UDA_RUNS outside the project train there", async () => {
  const temp = await outside();
  try {
    const out = `${temp}/run`;
    const r = await task("run", [TINY, "--set", "run.iterations=2", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.startsWith(`tiny: ${out}\n`), r.stderr);
    const files = await listing(temp);
    for (const f of ["report.md", "weights.safetensors", "metrics.jsonl", "env.json"]) {
      assert.ok(files.includes(`run/${f}`), `${f} in ${files}`);
    }
    // Only the directory named was written.
    assert.deepEqual(files.filter((f) => !f.startsWith("run")), []);

    const runs = `${temp}/scratch`;
    const viaEnv = await task("run", [TINY, "--set", "run.iterations=2"], { UDA_RUNS: runs });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const dir = /^tiny: (\S+)\n/.exec(viaEnv.stderr)?.[1] ?? "";
    assert.match(dir, new RegExp(`^${runs}/tiny/[0-9a-f]{12}-s0$`));
    assert.ok((await listing(dir)).includes("weights.safetensors"));

    // The sweep, too: its expansion reads that root (and finds the run just made there).
    const show = await cli("sweep", ["show", "tests/fixtures/tiny_sweep.ts"], undefined, {
      UDA_RUNS: runs,
    });
    assert.equal(show.code, 0, show.stderr);
    assert.ok(show.stdout.includes(`  seed 0  ${dir}\n`), show.stdout);

    // Reading those runs: `results` (a run directory, also with UDA_RUNS set there) and `eval`
    // start again with those directories added to their read scope only.
    const table = await task("results", [dir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\| tiny \| `[0-9a-f]{12}` \| 1 \|/);
    const byEnv = await task("results", [dir], { UDA_RUNS: runs });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(byEnv.stdout, table.stdout);
    const evaluated = await task("eval", [dir]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /targetVal mIoU \(19\): \d/);
    assert.deepEqual(
      (await listing(temp)).filter((f) => !f.startsWith("run") && !f.startsWith("scratch")),
      [],
      "nothing written beside the runs",
    );
  } finally {
    await remove(temp);
  }
});

Deno.test("run: an --out that cannot be written is one paragraph, exit 2", async () => {
  const temp = await outside();
  await Deno.mkdir(".cache/test-out", { recursive: true });
  await Deno.writeTextFile(".cache/test-out/file", "");
  try {
    await privileged(`Deno.writeTextFileSync(Deno.args[0], "")`, [`${temp}/file`]);
    for (const out of [`${temp}/file/run`, ".cache/test-out/file/run"]) {
      const r = await task("run", [TINY, "--out", out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^error: --out ${out}: cannot write there \\(Not a directory`),
      );
      assert.match(
        r.stderr,
        /Nothing was trained\. Give a directory this user may create files in/,
      );
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    // Deno keeps /proc for --allow-all: refused with its reason, not Deno's prompt message.
    const proc = await task("run", [TINY, "--out", "/proc/uda-run"]);
    assert.equal(proc.code, 2, proc.stderr);
    assert.match(proc.stderr, /^error: --out \/proc\/uda-run resolves to .*cannot be checked/);
    assert.equal(proc.stderr.trim().split("\n").length, 1, proc.stderr);
    assert.deepEqual(await listing(temp), ["file"]);
  } finally {
    await remove(temp);
    await Deno.remove(".cache/test-out", { recursive: true });
  }
});
