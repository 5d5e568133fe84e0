/**
 * The permissions of the `deno task` definitions: the tests' table (`helpers.ts`) mirrors them,
 * and no process that imports experiment files may start programs, use the network, or write
 * outside `runs/` and `.cache/` (`results` also writes its tables under `docs/`).
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { PERMISSIONS } from "./helpers.ts";
import { WORKER_PERMISSIONS } from "../../runtime/cli/diff.ts";
import {
  type CommandScope,
  EVAL_SCOPE,
  RESULTS_SCOPE,
  RUN_SCOPE,
  SWEEP_SCOPE,
} from "../../runtime/cli/scope.ts";

/** How a task names Deno: npm's `node_modules/.bin/deno` or PATH's, else the task runner's own. */
const DENO = "$(which deno || echo deno)";

/** Each task's command line (a task is a string, or an object with `command` and dependencies). */
const TASKS: Record<string, string> = Object.fromEntries(
  Object.entries(
    JSON.parse(await Deno.readTextFile("deno.json")).tasks as Record<
      string,
      string | { command: string }
    >,
  ).map(([name, task]) => [name, typeof task === "string" ? task : task.command]),
);

/** The flags of the `deno run` a task ends in, and the script it runs. */
function denoRun(task: string): { flags: string[]; script: string } {
  const start = task.lastIndexOf(`${DENO} run `);
  assert.ok(start >= 0, task);
  const words = task.slice(start + DENO.length).split(/\s+/).slice(2);
  const script = words.findIndex((w) => !w.startsWith("-"));
  return { flags: words.slice(0, script), script: words[script] };
}

/** The flags as the tests grant them: writes only inside .cache. */
function forTests(flags: string[]): string[] {
  return flags.map((flag) => {
    const write = /^--allow-write=(.+)$/.exec(flag);
    if (!write) return flag;
    return `--allow-write=${write[1].split(",").filter((s) => s === "./.cache").join(",")}`;
  });
}

Deno.test("tests grant each command the permissions of its deno task (writes inside .cache)", () => {
  for (const [name, flags] of Object.entries(PERMISSIONS)) {
    const { flags: task, script } = denoRun(TASKS[name]);
    assert.equal(script, `runtime/cli/${name}.ts`);
    assert.deepEqual(flags, forTests(task), name);
  }
});

Deno.test("no task that imports experiment files may run programs, use the network or prompt", () => {
  const importing = ["run", "show", "plan", "eval", "bench", "bench-steps", "results"];
  for (const name of importing) {
    const { flags } = denoRun(TASKS[name]);
    assert.ok(flags.includes("--no-prompt"), `${name}: a prompt could grant more`);
    for (const flag of flags) {
      // `run`, `results` and `eval` may start Deno only to re-execute themselves with a directory
      // outside the project; they revoke that before they import an experiment file
      // (RUN_PERMISSIONS, sandbox_test.ts).
      if (["run", "results", "eval"].includes(name) && flag === "--allow-run=deno") continue;
      // `bench` imports no experiment: it compares against PyTorch through this one interpreter
      // and measures further wasm thread counts in children of itself.
      if (name === "bench" && flag === "--allow-run=deno,/usr/bin/python3") continue;
      // `bench-steps` measures several experiments each in a child of itself (which gets no
      // --allow-run) and imports none of them; with one experiment it revokes the permission
      // before importing it.
      if (name === "bench-steps" && flag === "--allow-run=deno") continue;
      assert.doesNotMatch(flag, /^(-A|--allow-all|--allow-run|--allow-net|--allow-ffi)/, name);
      const write = /^--allow-write(?:=(.*))?$/.exec(flag);
      if (!write) continue;
      const allowed = name === "results" ? ["./docs", "./.cache"] : ["./runs", "./.cache"];
      assert.ok(write[1] !== undefined, `${name}: unscoped --allow-write`);
      for (const scope of write[1].split(",")) {
        assert.ok(allowed.includes(scope), `${name}: ${scope}`);
      }
    }
  }
  // `diff` runs git and tar itself but imports the experiment files in a worker that only reads.
  assert.deepEqual(WORKER_PERMISSIONS, ["--allow-read=."]);
  // The run task's git status runs before Deno starts, so no experiment code can touch it.
  // Deno's WebGPU wants a runtime directory; the task gives it one inside .cache.
  assert.match(
    TASKS.run,
    /^mkdir -p \.cache\/xdg && UDA_GIT_STATUS="\$\(git status [^)]*\)" XDG_RUNTIME_DIR=\$INIT_CWD\/\.cache\/xdg \$\(which deno \|\| echo deno\) run /,
  );
});

Deno.test("no task names where npm put Deno, and each task that needs npm packages installs them", () => {
  const tasks = JSON.parse(Deno.readTextFileSync("deno.json")).tasks;
  for (const [name, task] of Object.entries(tasks as Record<string, unknown>)) {
    assert.doesNotMatch(JSON.stringify(task), /node_modules\/deno/, name);
    if (name === "modules" || name === "reproduce") continue;
    assert.deepEqual((task as { dependencies?: string[] }).dependencies, ["modules"], name);
  }
});

Deno.test("run, sweep, results and eval start again with their task's permissions, never more", () => {
  const flags = (scope: CommandScope) =>
    [
      ...scope.flags,
      `--allow-read=${scope.read.join(",")}`,
      `--allow-write=${scope.write.join(",")}`,
      `--allow-env=${scope.env.join(",")}`,
    ].sort();
  // The child lacks the --allow-run=deno the task has only for starting that child.
  for (
    const [name, scope] of [["run", RUN_SCOPE], ["results", RESULTS_SCOPE], [
      "eval",
      EVAL_SCOPE,
    ]] as const
  ) {
    assert.deepEqual(
      flags(scope),
      denoRun(TASKS[name]).flags.filter((f) => f !== "--allow-run=deno").sort(),
      name,
    );
  }
  assert.deepEqual(flags(SWEEP_SCOPE), denoRun(TASKS.sweep).flags.sort());
});
