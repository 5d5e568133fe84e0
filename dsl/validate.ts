/**
 * Validation of a whole experiment tree, in two passes:
 *
 * 1. structure: every section and data slot holds a block of its family, every field fits its
 *    schema, no field or section is unknown (with a spelling suggestion);
 * 2. once that holds, the checks types cannot see: the few rules about places (at least one
 *    term, term names, no target labels in the crop), then each block's own
 *    {@linkcode BlockDefinition.check}, called for every block in the tree with its path.
 *
 * Nothing here names a block kind: what a kind requires of the rest lives in its block file.
 *
 * @module
 */
import { type AnyBlock, type BlockDefinition, blockDefinition, isBlock, kindsOf } from "./block.ts";
import type { Experiment } from "./experiment.ts";
import type { Issue } from "./issues.ts";
import { checkValue, type Field } from "./schema.ts";
import {
  DATA_PLACES,
  LOSS_FAMILY,
  type Place,
  SECTION_PLACES,
  SECTIONS,
  TERM_NAME,
} from "./sections.ts";
import { closest } from "./spelling.ts";

/** The message for a field `key` that `kind` does not have, with the closest name if any. */
export function unknownField(kind: string, key: string, schema: Record<string, Field>): string {
  const names = Object.keys(schema);
  const close = closest(key, names);
  return `${kind} has no field '${key}'${close ? ` (did you mean '${close}'?)` : ""}; its fields ` +
    `are ${names.join(", ")}`;
}

/** "a loss block (kind, kind, ...)": the family with its defined kinds, for messages. */
export function describeFamily(family: string): string {
  return `${/^[aeiou]/.test(family) ? "an" : "a"} ${family} block (${kindsOf(family).join(", ")})`;
}

function validateFields(
  value: AnyBlock,
  definition: BlockDefinition,
  path: string,
  issues: Issue[],
): void {
  const schema = definition.schema as Record<string, Field>;
  const record = value as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== "kind" && !(key in schema)) {
      issues.push({ path: `${path}.${key}`, message: unknownField(value.kind, key, schema) });
    }
  }
  for (const [name, field] of Object.entries(schema)) {
    const fieldPath = `${path}.${name}`;
    if (field.type === "block") validateBlock(record[name], field.family, fieldPath, issues);
    else {
      const problem = checkValue(field, record[name]);
      if (problem !== undefined) issues.push({ path: fieldPath, message: problem });
    }
  }
}

function validateBlock(value: unknown, family: string, path: string, issues: Issue[]): void {
  if (!isBlock(value)) {
    issues.push({
      path,
      message: `expected ${describeFamily(family)}, got ${JSON.stringify(value) ?? "nothing"}`,
    });
    return;
  }
  const definition = blockDefinition(value.kind)!;
  if (definition.family !== family) {
    issues.push({
      path,
      message: `${value.kind} is a ${definition.family} block; this place needs ` +
        describeFamily(family),
    });
    return;
  }
  validateFields(value, definition, path, issues);
}

function validatePlaces(
  record: Record<string, unknown>,
  places: Readonly<Record<string, Place>>,
  prefix: string,
  issues: Issue[],
): void {
  for (const [key, place] of Object.entries(places)) {
    if (place.optional && record[key] === undefined) continue;
    validateBlock(record[key], place.family, `${prefix}${key}`, issues);
  }
}

function validateData(data: unknown, issues: Issue[]): void {
  if (typeof data !== "object" || data === null) {
    const required = Object.keys(DATA_PLACES).filter((k) => !DATA_PLACES[k].optional);
    issues.push({ path: "data", message: `expected { ${required.join(", ")} }` });
    return;
  }
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(DATA_PLACES, key)) {
      issues.push({
        path: `data.${key}`,
        message: `unknown entry; data has ${Object.keys(DATA_PLACES).join(", ")}`,
      });
    }
  }
  validatePlaces(record, DATA_PLACES, "data.", issues);
}

function validateLosses(losses: unknown, issues: Issue[]): void {
  if (typeof losses !== "object" || losses === null || Array.isArray(losses)) {
    issues.push({ path: "losses", message: "expected a record of named loss terms" });
    return;
  }
  for (const [name, term] of Object.entries(losses)) {
    validateBlock(term, LOSS_FAMILY, `losses.${name}`, issues);
  }
}

/** The rules about places rather than kinds: terms exist and are named as metrics can be. */
function placeChecks(x: Experiment, issues: Issue[]): void {
  const terms = Object.keys(x.losses);
  if (terms.length === 0) {
    issues.push({ path: "losses", message: "an experiment needs at least one loss term" });
  }
  for (const name of terms) {
    if (!TERM_NAME.test(name)) {
      issues.push({
        path: `losses.${name}`,
        message: "term names are identifiers (letters, digits, _), used as metric names",
      });
    }
  }
  // UDA reads no target labels; a dataset without the field has no such check to turn off.
  const target = x.data.target as { readonly catMaxRatio?: unknown };
  if (typeof target.catMaxRatio === "number" && target.catMaxRatio < 1) {
    issues.push({
      path: "data.target.catMaxRatio",
      message: `the category-ratio crop check reads the crop's labels, and target labels must ` +
        `not steer training in UDA; set it to 1 (as the reference's Cityscapes pipeline)`,
    });
  }
}

/**
 * Every block of the tree with its path, in the order an experiment file reads (model, data,
 * losses, then the other sections), each block before the blocks nested in it.
 */
export function blocksOf(x: Experiment): { block: AnyBlock; path: string }[] {
  const out: { block: AnyBlock; path: string }[] = [];
  const visit = (block: AnyBlock, path: string) => {
    out.push({ block, path });
    const schema = blockDefinition(block.kind)!.schema as Record<string, Field>;
    for (const [name, field] of Object.entries(schema)) {
      const nested = (block as unknown as Record<string, unknown>)[name];
      if (field.type === "block" && isBlock(nested)) visit(nested, `${path}.${name}`);
    }
  };
  const sections = x as unknown as Record<string, unknown>;
  const places: [string, unknown][] = [
    ["model", x.model],
    ...Object.entries(x.data).map(([k, v]): [string, unknown] => [`data.${k}`, v]),
    ...Object.entries(x.losses).map(([k, v]): [string, unknown] => [`losses.${k}`, v]),
    ...Object.keys(SECTION_PLACES).filter((k) => k !== "model").map((k): [string, unknown] => [
      k,
      sections[k],
    ]),
  ];
  for (const [path, value] of places) if (isBlock(value)) visit(value, path);
  return out;
}

function blockChecks(x: Experiment, issues: Issue[]): void {
  for (const { block, path } of blocksOf(x)) {
    const found = blockDefinition(block.kind)!.check?.(block, { experiment: x, path });
    if (found !== undefined) issues.push(...found);
  }
}

/** Validates a whole experiment tree; returns the problems (empty when valid). */
export function validateExperiment(value: unknown): Issue[] {
  if (typeof value !== "object" || value === null) {
    return [{ path: "(root)", message: "an experiment is an object made by experiment()" }];
  }
  const issues: Issue[] = [];
  const x = value as Record<string, unknown>;
  for (const key of Object.keys(x)) {
    if (!SECTIONS.includes(key)) {
      issues.push({
        path: key,
        message: `unknown section; the sections are ${SECTIONS.join(", ")}`,
      });
    }
  }
  validatePlaces(x, SECTION_PLACES, "", issues);
  validateData(x.data, issues);
  validateLosses(x.losses, issues);
  if (issues.length > 0) return issues;
  placeChecks(value as Experiment, issues);
  blockChecks(value as Experiment, issues);
  return issues;
}
