/**
 * The canonical form of an experiment: plain data with keys sorted (`kind` first), every default
 * filled in, numbers normalised; printed as YAML for `show` and `experiment.yaml`, and hashed.
 *
 * The YAML printer is our own (≈ 50 lines for plain JSON data) rather than a library's, so the
 * bytes of `show` depend only on this file: a dependency update cannot change run hashes or
 * make `diff --rev` report spurious changes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Experiment } from "./experiment.ts";

/** Plain JSON data. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "kind") return -1;
  if (b === "kind") return 1;
  return a < b ? -1 : 1;
}

/** A deep copy with keys in canonical order, `-0` as `0`, and no `undefined` entries. */
export function canonicalize(value: unknown): Plain {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`canonical form: non-finite number ${value}`);
    return Object.is(value, -0) ? 0 : value;
  }
  if (Array.isArray(value)) return value.map(canonicalize);
  if (typeof value === "object") {
    const out: { [key: string]: Plain } = {};
    for (const key of Object.keys(value).sort(compareKeys)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  throw new Error(`canonical form: cannot represent ${typeof value}`);
}

/** Compact JSON of canonical data (key order preserved from {@linkcode canonicalize}). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A scalar or a flat list in YAML flow style (strings always double-quoted, JSON-compatible). */
export function flowYaml(value: Plain): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map(flowYaml).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${yamlKey(k)}: ${flowYaml(v)}`);
  return `{${entries.join(", ")}}`;
}

function yamlKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : JSON.stringify(key);
}

function isScalarList(value: Plain): boolean {
  return Array.isArray(value) && value.every((v) => v === null || typeof v !== "object");
}

function emit(value: Plain, indent: string, lines: string[]): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) {
      const isBlockValue = v !== null && typeof v === "object" && !isScalarList(v) &&
        (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
      if (isBlockValue) {
        lines.push(`${indent}${yamlKey(key)}:`);
        emit(v, indent + "  ", lines);
      } else lines.push(`${indent}${yamlKey(key)}: ${flowYaml(v)}`);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      if (v !== null && typeof v === "object") {
        lines.push(`${indent}-`);
        emit(v, indent + "  ", lines);
      } else lines.push(`${indent}- ${flowYaml(v)}`);
    }
    return;
  }
  lines.push(`${indent}${flowYaml(value)}`);
}

/** The canonical YAML text of any plain data (ends with a newline). */
export function toYaml(value: unknown): string {
  const lines: string[] = [];
  emit(canonicalize(value), "", lines);
  return lines.join("\n") + "\n";
}

/** `show`'s output: the experiment's canonical YAML. */
export function showExperiment(experiment: Experiment): string {
  return toYaml(experiment);
}

/**
 * SHA-256 (hex) of the canonical JSON without `run.seed`, so every seed of one experiment shares
 * a hash (run directories are `<hash12>-s<seed>`, and results group seeds by hash).
 */
export function experimentHash(experiment: Experiment): string {
  const { seed: _seed, ...run } = experiment.run;
  return createHash("sha256").update(canonicalJson({ ...experiment, run })).digest("hex");
}
