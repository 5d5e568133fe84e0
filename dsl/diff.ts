/**
 * Semantic diff of two experiments: walks both canonical forms and reports path-level changes,
 * so a review sees what really changed after inheritance and defaults.
 *
 * @module
 */
import { canonicalize, flowYaml, type Plain } from "./canonical.ts";

/** One change. */
export type Change =
  | { op: "changed"; path: string; before: Plain; after: Plain }
  | { op: "added"; path: string; after: Plain }
  | { op: "removed"; path: string; before: Plain };

function isRecord(value: Plain): value is { [key: string]: Plain } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function walk(a: Plain, b: Plain, path: string, out: Change[]): void {
  if (isRecord(a) && isRecord(b)) {
    // A block that changed kind is one change: its fields belong to different definitions.
    if ("kind" in a && "kind" in b && a.kind !== b.kind) {
      out.push({ op: "changed", path, before: a, after: b });
      return;
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const sub = path === "" ? key : `${path}.${key}`;
      if (!(key in b)) out.push({ op: "removed", path: sub, before: a[key] });
      else if (!(key in a)) out.push({ op: "added", path: sub, after: b[key] });
      else walk(a[key], b[key], sub, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ op: "changed", path, before: a, after: b });
  }
}

/** The changes that turn `a` into `b` (both canonicalised first), in path order. */
export function diffExperiments(a: unknown, b: unknown): Change[] {
  const out: Change[] = [];
  walk(canonicalize(a), canonicalize(b), "", out);
  return out;
}

/** A block as it reads in TypeScript, as its factory called with every field: `kind({ a: 1 })`. */
function render(value: Plain): string {
  if (isRecord(value) && typeof value.kind === "string") {
    const { kind, ...fields } = value;
    const inner = Object.entries(fields).map(([k, v]) => `${k}: ${render(v)}`).join(", ");
    return `${kind}({ ${inner} })`;
  }
  return flowYaml(value);
}

/** One line per change: `~ path: before → after`, `+ path: value`, `- path: value`. */
export function formatChanges(changes: readonly Change[]): string {
  return changes.map((c) =>
    c.op === "changed"
      ? `~ ${c.path}: ${render(c.before)} → ${render(c.after)}`
      : c.op === "added"
      ? `+ ${c.path}: ${render(c.after)}`
      : `- ${c.path}: ${render(c.before)}`
  ).join("\n") + (changes.length > 0 ? "\n" : "");
}
