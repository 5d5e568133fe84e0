/**
 * Blocks and experiments from plain data: a stored canonical form (`experiment.yaml`, a
 * checkpoint's metadata) or a block written as JSON (`--set 'model.decoder={"kind":...}'`).
 * Each block is built through its kind's definition, so it gets the defaults of the fields it
 * does not give, exactly as its factory would.
 *
 * @module
 */
import { type AnyBlock, blockDefinition, makeBlock } from "./block.ts";
import { type Experiment, seal } from "./experiment.ts";
import { fail } from "./issues.ts";
import type { Field } from "./schema.ts";
import { describeFamily } from "./validate.ts";

/** How {@linkcode blockFromPlain} words its errors. */
export interface PlainContext {
  /** What is being read, for the message (`patch`, `stored experiment`). */
  readonly context: string;
  /** Said after an unknown kind (e.g. that a newer version may have written it). */
  readonly unknownKindHint?: string;
  /** Whether the data was stored by an earlier version (its kinds' `storedDefaults` apply). */
  readonly stored?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Builds a block from plain data with a `kind`: nested blocks are built too, the given fields
 * are remembered as the explicit ones (so `extend` merges only those), and a missing nested
 * block or an unknown kind is an error at its path. Unknown fields are kept, for validation to
 * report with a suggestion. `family`, when known, is what the place needs (for the message).
 */
export function blockFromPlain(
  value: Record<string, unknown>,
  path: string,
  how: PlainContext,
  family?: string,
): AnyBlock {
  const kind = String(value.kind);
  const definition = blockDefinition(kind);
  if (definition === undefined) {
    const needs = family === undefined ? "" : `; this place needs ${describeFamily(family)}`;
    fail(path, `unknown block kind '${kind}'${needs}${how.unknownKindHint ?? ""}`, how.context);
  }
  const schema = definition.schema as Record<string, Field>;
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (name === "kind") continue;
    const spec = schema[name];
    fields[name] = spec?.type === "block" && isRecord(field) && "kind" in field
      ? blockFromPlain(field, `${path}.${name}`, how, spec.family)
      : field;
  }
  if (how.stored) {
    for (const [name, old] of Object.entries(definition.storedDefaults ?? {})) {
      if (!(name in fields)) fields[name] = old;
    }
  }
  for (const [name, field] of Object.entries(schema)) {
    if (field.type === "block" && fields[name] === undefined) {
      fail(`${path}.${name}`, `${kind} needs ${describeFamily(field.family)} here`, how.context);
    }
  }
  return makeBlock(definition, fields);
}

const STORED: PlainContext = {
  context: "stored experiment",
  unknownKindHint: " (written by a newer UDA-Lab?)",
  stored: true,
};

function rebuild(value: unknown, path: string): unknown {
  if (!isRecord(value)) return value;
  if (typeof value.kind === "string") return blockFromPlain(value, path, STORED);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rebuild(v, `${path}.${k}`)]));
}

/**
 * Rebuilds an experiment from its canonical plain form (`experiment.yaml`, a checkpoint's
 * metadata), validating it as `experiment()` does.
 */
export function experimentFromPlain(value: unknown): Experiment {
  if (typeof value !== "object" || value === null) {
    fail("(root)", "not an experiment", "stored experiment");
  }
  const out: Record<string, unknown> = {};
  for (const [section, v] of Object.entries(value)) out[section] = rebuild(v, section);
  return seal(out);
}
