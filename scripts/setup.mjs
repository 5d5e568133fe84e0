// The set-up step of the README's two commands (`npm run train -- EXP.ts`, `npm test`), run by
// npm as their `pretrain` / `pretest` script: on a fresh clone it runs `npm install`, which
// installs the npm packages and the pinned Deno (the `deno` package, from package-lock.json);
// once every package of package.json is installed at its pinned version it does nothing, in
// milliseconds and without the network. Needs Node.js ≥ 18 only.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const wanted = { ...manifest.dependencies, ...manifest.devDependencies };

/** The installed version of `name`, or undefined. */
function installed(name) {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"))
      .version;
  } catch {
    return undefined;
  }
}

const missing = Object.entries(wanted).filter(([name, version]) => installed(name) !== version);
// npm's link to the native Deno binary, which the deno package's install script makes.
const deno = join(root, "node_modules", ".bin", process.platform === "win32" ? "deno.cmd" : "deno");
if (missing.length > 0 || !existsSync(deno)) {
  const list = missing.map(([name, version]) => `${name}@${version}`).join(", ");
  console.error(`setup: installing ${list || "the deno binary link"} (npm install)`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) {
    console.error("setup: npm install failed; see its output above");
    process.exit(result.status ?? 1);
  }
}
