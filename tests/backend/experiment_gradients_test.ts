/**
 * The finite-difference suite must cover every gradient the programs in `experiments/` run: each
 * experiment file is compiled and the `differentiated` kernels of its program (what `plan`
 * counts as "the gradients this program runs") must each have a case in `FD_CASES`.
 */
import { strict as assert } from "node:assert";
import { join, relative } from "node:path";
import { compile } from "../../runtime/compile/program.ts";
import { isExperiment } from "../../dsl/mod.ts";
import { differentiatedKernels, missingCases } from "./fd_cases.ts";

async function experimentFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await experimentFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

Deno.test("every gradient the programs in experiments/ run has a finite-difference case", async () => {
  const files = await experimentFiles("experiments");
  assert.ok(files.length >= 8, `found only ${files}`);
  const required = new Set<string>();
  for (const file of files) {
    const module = await import(`../../${relative(".", file)}`);
    if (!isExperiment(module.default)) continue;
    const program = compile(module.default);
    for (const kernel of differentiatedKernels([program.kernels])) required.add(kernel);
  }
  assert.ok(required.has("ResizeBilinear") && required.has("Conv2D"), [...required].join());
  assert.deepEqual(
    missingCases([...required].sort()),
    [],
    "kernels some experiment differentiates but tests/backend/fd_cases.ts does not check",
  );
});
