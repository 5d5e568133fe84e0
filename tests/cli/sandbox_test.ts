/**
 * An experiment file run through `deno task run` or `deno task diff` cannot start a program (git
 * with a shell alias, Deno itself), write outside `runs/` and `.cache/`, or open a connection;
 * and `env.json` still records the git revision, read without running git in that process.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { cli, task } from "./helpers.ts";
import { exists } from "../../runtime/io/exists.ts";

const ROOT = ".cache/test-sandbox";
const TINY = "tests/fixtures/tiny.ts";

/** A fresh folder for this test file's experiment files and runs. */
async function freshRoot(): Promise<void> {
  await Deno.remove(ROOT, { recursive: true }).catch(() => {});
  await Deno.mkdir(ROOT, { recursive: true });
}

/**
 * A marker in the project root: readable by this test, not writable by `run` (outside `runs/`
 * and `.cache/`), so its existence would prove an escape.
 */
function marker(kind: string): string {
  return resolve(`.sandbox-escape-${kind}-${crypto.randomUUID().slice(0, 8)}`);
}

/** An experiment file that tries `attempt` at import time and otherwise is the tiny experiment. */
async function experimentFile(name: string, attempt: string): Promise<string> {
  const path = join(ROOT, `${name}.ts`);
  await Deno.writeTextFile(
    path,
    `import tiny from "../../${TINY}";\n${attempt}\nexport default tiny;\n`,
  );
  return path;
}

const ATTEMPTS: { name: string; code: (marker: string) => string; refused: RegExp }[] = [
  {
    name: "a git alias running a shell",
    code: (m) =>
      `new Deno.Command("git", { args: ["-c", ${
        JSON.stringify(`alias.escape=!touch ${m}`)
      }, "escape"] }).outputSync();`,
    refused: /Requires run access to "git"/,
  },
  {
    name: "starting Deno itself with all permissions",
    code: (m) =>
      `new Deno.Command(Deno.execPath(), { args: ["eval", ${
        JSON.stringify(`Deno.writeTextFileSync(${JSON.stringify(m)}, "escaped")`)
      }] }).outputSync();`,
    refused: /Requires run access to/,
  },
  {
    // The run task grants `--allow-run=deno` for `run` to re-execute itself with a wider
    // --out; it is revoked before any experiment file is imported.
    name: "starting Deno by the name the task grants",
    code: (m) =>
      `new Deno.Command("deno", { args: ["eval", ${
        JSON.stringify(`Deno.writeTextFileSync(${JSON.stringify(m)}, "escaped")`)
      }] }).outputSync();`,
    refused: /Requires run access to "deno"/,
  },
  {
    name: "a write outside runs/ and .cache/",
    code: (m) => `Deno.writeTextFileSync(${JSON.stringify(m)}, "escaped");`,
    refused: /Requires write access to/,
  },
  {
    name: "a network request",
    // Not a port fetch blocks by itself (1, 9, ...): the refusal must be the permission's.
    code: () => `await fetch("http://127.0.0.1:9999/");`,
    refused: /Requires net access to "127\.0\.0\.1:9999"/,
  },
];

Deno.test("deno task run and diff refuse an experiment's program, outside write, network", async () => {
  await freshRoot();
  for (const [i, attempt] of ATTEMPTS.entries()) {
    const m = marker(String(i));
    const file = await experimentFile(`escape_${i}`, attempt.code(m));
    const out = join(ROOT, `run_${i}`);
    const result = await task("run", [file, "--out", out]);
    assert.equal(result.code, 2, `${attempt.name}: exit code\n${result.stderr}`);
    assert.match(result.stderr, attempt.refused, attempt.name);
    assert.match(result.stderr, /the file failed to load/, attempt.name);
    assert.equal(await exists(m), false, `${attempt.name}: the side effect happened`);
    assert.equal(await exists(out), false, `${attempt.name}: a run directory was written`);
    // diff runs git itself, so it imports experiment files in a worker that may only read.
    const diff = await task("diff", [file, TINY]);
    assert.equal(diff.code, 2, `diff, ${attempt.name}: exit code\n${diff.stderr}`);
    assert.match(diff.stderr, attempt.refused, `diff, ${attempt.name}`);
    assert.equal(await exists(m), false, `diff, ${attempt.name}: the side effect happened`);
  }
});

/** `git rev-parse HEAD`, plus `-dirty` when tracked files differ (what env.json should say). */
async function expectedRevision(): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    assert.ok(out.success, `git ${args.join(" ")}`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  const head = await git("rev-parse", "HEAD");
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")) !== "";
  return head + (dirty ? "-dirty" : "");
}

async function recordedRevision(dir: string): Promise<string> {
  const env = JSON.parse(await Deno.readTextFile(join(dir, "env.json")));
  return env.sessions[0].git;
}

Deno.test("deno task run records the git revision and tree state in env.json", async () => {
  await freshRoot();
  const dir = join(ROOT, "revision");
  const result = await task("run", [TINY, "--out", dir, "--stop-after", "1"]);
  assert.equal(result.code, 130, result.stderr);
  // Other processes may edit tracked files meanwhile; the state before and after must agree.
  const expected = await expectedRevision();
  assert.equal(await recordedRevision(dir), expected);
});

Deno.test("run started without the task reads the commit from .git, tree state unknown", async () => {
  await freshRoot();
  const dir = join(ROOT, "revision-direct");
  const result = await cli("run", [TINY, "--out", dir, "--stop-after", "1"]);
  assert.equal(result.code, 130, result.stderr);
  const commit = (await expectedRevision()).replace(/-dirty$/, "");
  assert.equal(await recordedRevision(dir), `${commit}-tree-unknown`);
});
