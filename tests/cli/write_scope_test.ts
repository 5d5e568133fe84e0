/**
 * `--out` through a symlink: the run directory is checked after resolving symlinks, so a link in
 * `.cache/` to a folder outside the project is refused with exit 2 and nothing written there.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { denoCommand } from "../../runtime/cli/deno_command.ts";
import { cli } from "./helpers.ts";
import { assertWritable, realTarget } from "../../runtime/cli/write_scope.ts";
import { UsageError } from "../../runtime/cli/experiment_file.ts";

const ROOT = ".cache/test-scope";
const TINY = "tests/fixtures/tiny.ts";

/**
 * Runs `code` in a Deno with all permissions and returns what it prints: this test may write only
 * `.cache/`, and a symlink needs unscoped permissions (which is also why `run` cannot make one).
 */
async function outside(code: string): Promise<string> {
  const out = await new Deno.Command(denoCommand(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** A temporary folder outside the project and a link `ROOT/name` to `target` inside it. */
async function linkOut(name: string, target = ""): Promise<{ temp: string; link: string }> {
  await Deno.mkdir(ROOT, { recursive: true });
  const link = join(ROOT, name);
  await Deno.remove(link).catch(() => {});
  const temp = await outside(
    `const t = Deno.makeTempDirSync({ prefix: "uda-scope-" }); ` +
      `Deno.symlinkSync(t + ${JSON.stringify(target === "" ? "" : "/" + target)}, ` +
      `${JSON.stringify(link)}); console.log(t);`,
  );
  return { temp, link };
}

/** Every entry under `dir` (recursively), listed outside this test's read scope. */
function listing(dir: string): Promise<string> {
  return outside(
    `const walk = (d, p = "") => [...Deno.readDirSync(d)].flatMap((e) => ` +
      `[p + e.name, ...(e.isDirectory ? walk(d + "/" + e.name, p + e.name + "/") : [])]); ` +
      `console.log(JSON.stringify(walk(${JSON.stringify(dir)})));`,
  );
}

function removeOutside(dir: string): Promise<string> {
  return outside(`Deno.removeSync(${JSON.stringify(dir)}, { recursive: true });`);
}

Deno.test("run refuses --out through a symlink out of .cache: exit 2, nothing written", async () => {
  const { temp, link } = await linkOut("out-link");
  try {
    const out = join(link, "run");
    const result = await cli("run", [TINY, "--out", out]);
    assert.equal(result.code, 2, result.stderr);
    const target = join(await outside(`console.log(Deno.realPathSync(${JSON.stringify(temp)}))`));
    assert.ok(
      result.stderr.includes(`--out ${out} resolves to ${join(target, "run")}`),
      result.stderr,
    );
    assert.match(result.stderr, /through a symlink/);
    assert.match(result.stderr, /Give a directory under runs\/ or \.cache\//);
    assert.equal(result.stderr.trim().split("\n").length, 1, "one paragraph");
    assert.equal(await listing(temp), "[]");
  } finally {
    await removeOutside(temp);
    await Deno.remove(link);
  }
});

Deno.test("a dangling link is followed: its missing target is not created", async () => {
  const { temp, link } = await linkOut("dangling-link", "missing/deeper");
  try {
    const result = await cli("run", [TINY, "--out", join(link, "run")]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /missing\/deeper\/run/);
    assert.equal(await listing(temp), "[]");
  } finally {
    await removeOutside(temp);
    await Deno.remove(link);
  }
});

Deno.test("links that stay inside .cache, and plain paths under it, are accepted", async () => {
  await Deno.remove(ROOT, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(ROOT, "real"), { recursive: true });
  await outside(`Deno.symlinkSync("real", ${JSON.stringify(join(ROOT, "inner"))});`);
  assert.deepEqual(await realTarget(join(ROOT, "inner", "a", "b")), {
    path: resolve(ROOT, "real", "a", "b"),
    complete: true,
  });
  await assertWritable(join(ROOT, "inner", "a"), "--out");
  await assertWritable(join(ROOT, "plain", "new", "run"), "--out");
  await assertWritable(join("runs", "x", "y"), "the run directory");
  await assert.rejects(assertWritable("docs/run", "--out"), UsageError);
  await assert.rejects(assertWritable(".cache/../docs/run", "--out"), UsageError);
});
