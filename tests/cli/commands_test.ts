import { strict as assert } from "node:assert";
import { join } from "node:path";
import { cli } from "./helpers.ts";

Deno.test("show is byte-identical across processes and fills every default", async () => {
  const a = await cli("show", ["experiments/source_only.ts"]);
  const b = await cli("show", ["experiments/source_only.ts"]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.match(a.stdout, /^ {2}kind: "adamw"\n {2}beta1: 0\.9\n/m);
  const seeded = await cli("show", ["experiments/source_only.ts", "--seed", "2"]);
  assert.match(seeded.stdout, /\n {2}seed: 2\n/);
});

Deno.test("an out-of-range value fails show and run with its path, before any tensor", async () => {
  for (const command of ["show", "run"]) {
    const out = join(".cache", "test-runs", "never");
    const result = await cli(command, [
      "tests/fixtures/tiny.ts",
      "--set",
      "data.target.crop=[100,64]",
      ...(command === "run" ? ["--out", out] : []),
    ]);
    assert.equal(result.code, 2, `${command}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /data\.target\.crop: expected a pair of integers \[a, b\], each ≥ 32 and a multiple of 32, got \[100,64\]/,
    );
    assert.equal(result.stdout, "");
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound, "no run directory");
  }
  const typo = await cli("show", ["tests/fixtures/tiny.ts", "--set", "losses.ce.wieght=2"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /did you mean 'weight'/);
  const missing = await cli("show", ["experiments/nope.ts"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /experiments\/nope\.ts: no such experiment file/);
});

Deno.test("diff exits 0 when equal and 1 with path lines when different", async () => {
  const same = await cli("diff", [
    "experiments/source_only.ts",
    "tests/fixtures/tiny.ts",
    "--set",
    "run.iterations=12",
  ]);
  assert.equal(same.code, 1);
  assert.match(same.stdout, /^~ data\.loader\.batchSize: 2 → 1$/m);
  assert.match(same.stdout, /^~ model\.decoder\.channels: 64 → 16$/m);
  const equal = await cli("diff", ["experiments/source_only.ts", "experiments/source_only.ts"]);
  assert.equal(equal.code, 0);
  assert.equal(equal.stdout, "");
});

Deno.test("diff --rev compares with the file as a git revision defined it, defaults included", async () => {
  const repo = join(Deno.cwd(), ".cache", "test-rev");
  await Deno.remove(repo, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(repo, "experiments"), { recursive: true });
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args],
      cwd: repo,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  };
  // A copy of the language and one experiment (with the patch it extends), committed; then a
  // default and the file change.
  const copyTree = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
      else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
    }
  };
  await copyTree("dsl", join(repo, "dsl"));
  for (const file of ["source_only.ts", "cpu_scale.ts"]) {
    await Deno.copyFile(join("experiments", file), join(repo, "experiments", file));
  }
  await Deno.copyFile("deno.json", join(repo, "deno.json"));
  await git("init", "-q");
  await git("add", ".");
  await git("commit", "-q", "-m", "base");
  const unchanged = await cli("diff", ["experiments/source_only.ts", "--rev", "HEAD"], repo);
  assert.equal(unchanged.code, 0, unchanged.stderr);
  const optim = join(repo, "dsl", "blocks", "adamw.ts");
  await Deno.writeTextFile(
    optim,
    (await Deno.readTextFile(optim)).replace("beta2: num(0.999,", "beta2: num(0.99,"),
  );
  const exp = join(repo, "experiments", "source_only.ts");
  await Deno.writeTextFile(
    exp,
    (await Deno.readTextFile(exp)).replace(
      "ce: crossEntropy(),",
      "ce: crossEntropy({ weight: 2 }),",
    ),
  );
  const changed = await cli("diff", ["experiments/source_only.ts", "--rev", "HEAD"], repo);
  assert.equal(changed.code, 1, changed.stderr);
  assert.equal(
    changed.stdout,
    "~ losses.ce.weight: 1 → 2\n~ optimizer.beta2: 0.999 → 0.99\n",
  );
  const badRev = await cli("diff", ["experiments/source_only.ts", "--rev", "nope"], repo);
  assert.equal(badRev.code, 2);
  assert.match(badRev.stderr, /--rev nope: not a commit/);
});

Deno.test("plan lists networks, shared passes, terms, groups and the kernel check", async () => {
  const result = await cli("plan", ["tests/fixtures/tiny.ts"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /student {2}mit_nano \+ daformer head \(16 channels, 19 classes\)/);
  assert.match(result.stdout, /student@source +training mode, 1 × 64×64; read by ce/);
  assert.match(result.stdout, /target +synthCity real .*: read by no term, not loaded/);
  assert.match(result.stdout, /head +lr 0\.02 \(×10\), decay 0\.01 \(×1\)/);
  assert.match(result.stdout, /kernels: 'wasm' has all \d+ kernels and the \d+ gradients/);
});

Deno.test("the paper-scale DAFormer replicas pass show and plan without their datasets", async () => {
  for (const file of ["experiments/gta2cs/daformer.ts", "experiments/synthia2cs/daformer.ts"]) {
    const shown = await cli("show", [file]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /variant: "b5"/);
    const plan = await cli("plan", [file]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /40000 iterations/);
    assert.match(plan.stdout, /teacher@target:eval/);
    assert.match(plan.stdout, /rare-class sampling \(T 0\.01, images with > 3000 px/);
  }
});

Deno.test("an error inside a base experiment is reported against the base file", async () => {
  const folder = join(".cache", "test-base-error");
  await Deno.mkdir(folder, { recursive: true });
  const dsl = "../../dsl/mod.ts";
  await Deno.writeTextFile(
    join(folder, "base.ts"),
    `import { extend } from "${dsl}";\nimport tiny from "../../tests/fixtures/tiny.ts";\n` +
      `export default extend(tiny, { losses: { ce: { weight: -1 } } });\n`,
  );
  await Deno.writeTextFile(
    join(folder, "child.ts"),
    `import { extend } from "${dsl}";\nimport base from "./base.ts";\n` +
      `export default extend(base, { run: { iterations: 5 } });\n`,
  );
  const child = await cli("show", [join(folder, "child.ts")]);
  assert.equal(child.code, 2, child.stderr);
  assert.match(
    child.stderr,
    /^error: \.cache\/test-base-error\/base\.ts \(imported by \.cache\/test-base-error\/child\.ts\): experiment is invalid: losses\.ce\.weight: expected a number ≥ 0, got -1\./,
  );
  const base = await cli("show", [join(folder, "base.ts")]);
  assert.match(base.stderr, /^error: \.cache\/test-base-error\/base\.ts: experiment is invalid/);
});

Deno.test("--set off and whole blocks: show matches the file that writes the same", async () => {
  const show = async (...args: string[]) => {
    const result = await cli("show", args);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  assert.equal(
    await show("experiments/daformer.ts", "--set", "data.sampling=off"),
    await show("experiments/ablations/daformer_no_rcs.ts"),
  );
  assert.equal(
    await show("experiments/daformer.ts", "--set", "mixing=off", "--set", "losses.mix.on=target"),
    await show("experiments/ablations/daformer_no_mix.ts"),
  );
  const plain = await show(
    "experiments/daformer.ts",
    ...["--set", "teacher=off", "--set", "mixing=off", "--set", "losses.mix=off"],
  );
  assert.doesNotMatch(plain, /^(teacher|mixing):/m);
  const swapped = await show(
    "experiments/source_only.ts",
    ...["--set", 'model.decoder={"kind":"segformerHead"}'],
  );
  assert.match(swapped, /\n {2}decoder:\n {4}kind: "segformerHead"\n {4}channels: 768\n/);
});

Deno.test("every bad --set fails show and run with exit 2, one paragraph, no run directory", async () => {
  const cases: [string, string, RegExp][] = [
    ["show", "teacher=off", /losses\.mix\.on: .*add teacher: emaTeacher\(\)/],
    ["show", "model=off", /model: `off` removes .*; give a model block/],
    ["show", 'model.decoder={"kind":"nope"}', /model\.decoder: unknown block kind 'nope'/],
    ["run", 'model.decoder={"kind":"nope"}', /this place needs a decoder block/],
    ["run", "teacher=off", /losses\.mix\.on: /],
  ];
  for (const [command, override, fix] of cases) {
    const out = join(".cache", "test-runs", "never-set");
    const result = await cli(command, [
      "tests/fixtures/tiny_daformer.ts",
      "--set",
      override,
      ...(command === "run" ? ["--out", out] : []),
    ]);
    const what = `${command} --set ${override}: ${result.stderr}`;
    assert.equal(result.code, 2, what);
    assert.match(result.stderr, fix, what);
    assert.match(result.stderr, /^error: --set .* is invalid: .*Fix the value.*\n$/, what);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, what);
    assert.equal(result.stdout, "", what);
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound, what);
  }
});

Deno.test("the paper-variant siblings of the replicas pass show", async () => {
  for (const dir of ["gta2cs", "synthia2cs"]) {
    const released = await cli("show", [`experiments/${dir}/daformer.ts`]);
    const paper = await cli("show", [`experiments/${dir}/daformer_paper.ts`]);
    assert.equal(paper.code, 0, paper.stderr);
    assert.match(released.stdout, /confidence: "batch"/);
    assert.match(paper.stdout, /confidence: "image"/);
    assert.match(paper.stdout, /classPool: "image"/);
  }
});
