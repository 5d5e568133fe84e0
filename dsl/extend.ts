/**
 * `extend(base, patch)`: composition of experiments. Records (`data`, `losses`) merge key by
 * key; a block patched with a block of the same kind takes the fields that block was given; a
 * block of another kind replaces it (a plain `{ kind, ... }` is built through its definition,
 * so it gets its defaults); a plain object of fields patches those fields; `off` removes a loss
 * term or an optional place. Because a patch records only what it changes, patches stack:
 * `extend(extend(base, p), q)` is the experiment `p` then `q` describe, whatever the base.
 *
 * @module
 */
import {
  type AnyBlock,
  blockDefinition,
  explicitFields,
  isBlock,
  isMadeBlock,
  isOff,
  kindsOf,
  makeBlock,
} from "./block.ts";
import { type Experiment, type ExperimentPatch, isExperiment, seal } from "./experiment.ts";
import { fail } from "./issues.ts";
import { blockFromPlain } from "./plain.ts";
import type { Field } from "./schema.ts";
import {
  DATA_PLACES,
  LOSS_FAMILY,
  OPTIONAL_PLACES,
  type Place,
  SECTION_PLACES,
  SECTIONS,
} from "./sections.ts";
import { describeFamily, unknownField } from "./validate.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mergeBlock(base: unknown, patch: unknown, path: string, family: string): AnyBlock {
  if (isOff(patch)) {
    fail(
      path,
      `\`off\` removes loss terms and ${OPTIONAL_PLACES.join(", ")} only; give ` +
        `${describeFamily(family)} or some of its fields instead`,
    );
  }
  if (!isRecord(patch)) {
    const example = kindsOf(family)[0] ?? "kind";
    fail(
      path,
      `expected ${describeFamily(family)} or some of its fields, got ${JSON.stringify(patch)}; ` +
        `a block given as JSON names its kind, e.g. {"kind":"${example}"}`,
    );
  }
  if ("kind" in patch) {
    if (isBlock(base) && base.kind === patch.kind) {
      return mergeFields(base, patch, explicitFields(patch as unknown as AnyBlock), path);
    }
    // Another kind replaces the base; plain data is built so that it gets its kind's defaults.
    return isMadeBlock(patch) ? patch : blockFromPlain(patch, path, { context: "patch" }, family);
  }
  if (!isBlock(base)) {
    fail(
      path,
      `there is nothing here to patch; give a whole ${family} block (${
        kindsOf(family).join(", ")
      }) with its kind, e.g. {"kind":"${kindsOf(family)[0]}"}`,
    );
  }
  return mergeFields(base, patch, Object.keys(patch), path);
}

function mergeFields(
  base: AnyBlock,
  patch: Record<string, unknown>,
  fields: Iterable<string>,
  path: string,
): AnyBlock {
  const definition = blockDefinition(base.kind)!;
  const schema = definition.schema as Record<string, Field>;
  const merged: Record<string, unknown> = { ...base };
  for (const name of fields) {
    const field = schema[name];
    if (field === undefined) fail(`${path}.${name}`, unknownField(base.kind, name, schema));
    merged[name] = field.type === "block"
      ? mergeBlock(
        (base as unknown as Record<string, unknown>)[name],
        patch[name],
        `${path}.${name}`,
        field.family,
      )
      : patch[name];
  }
  return makeBlock(definition, merged, new Set([...explicitFields(base), ...fields]));
}

/** Patches the block at `record[key]`: `off` removes an optional place, anything else merges. */
function patchPlace(
  record: Record<string, unknown>,
  key: string,
  value: unknown,
  path: string,
  place: Place,
): void {
  if (value === undefined) return;
  if (isOff(value) && place.optional) delete record[key];
  else record[key] = mergeBlock(record[key], value, path, place.family);
}

/** A record section's patch (`data`, `losses`): entries by name, never a block or `off`. */
function entries(patch: unknown, section: string, example: string): [string, unknown][] {
  if (!isRecord(patch) || "kind" in patch) {
    fail(
      section,
      `${section} is patched entry by entry (e.g. ${example}), got ${JSON.stringify(patch)}`,
    );
  }
  return Object.entries(patch);
}

function patchData(data: object, patch: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  if (patch === undefined) return out;
  for (const [key, value] of entries(patch, "data", "data.sampling=off")) {
    if (!Object.hasOwn(DATA_PLACES, key)) {
      fail(`data.${key}`, `unknown entry; data has ${Object.keys(DATA_PLACES).join(", ")}`);
    }
    patchPlace(out, key, value, `data.${key}`, DATA_PLACES[key]);
  }
  return out;
}

function patchLosses(losses: object, patch: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...losses };
  if (patch === undefined) return out;
  for (const [name, value] of entries(patch, "losses", "losses.ce=off")) {
    if (isOff(value)) {
      if (!Object.hasOwn(out, name)) {
        fail(
          `losses.${name}`,
          `there is no term '${name}' to turn off; the terms are ${Object.keys(out).join(", ")}`,
        );
      }
      delete out[name];
    } else if (value !== undefined) {
      out[name] = mergeBlock(out[name], value, `losses.${name}`, LOSS_FAMILY);
    }
  }
  return out;
}

/**
 * Applies `patch` to `base` (see the module documentation for the rules). The result is
 * validated like `experiment()`; the first problem of the patch itself (an unknown field, `off`
 * where nothing can be removed) is reported with its path.
 */
export function extend(base: Experiment, patch: ExperimentPatch): Experiment {
  if (!isExperiment(base)) {
    fail("(base)", "extend() needs an experiment made by experiment() or extend()", "extend");
  }
  if (!isRecord(patch)) {
    fail("(patch)", `a patch is an object of sections, e.g. { run: { iterations: 20 } }`);
  }
  for (const key of Object.keys(patch)) {
    if (!SECTIONS.includes(key)) {
      fail(key, `unknown section; the sections are ${SECTIONS.join(", ")}`);
    }
  }
  const p = patch as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const [section, place] of Object.entries(SECTION_PLACES)) {
    patchPlace(out, section, p[section], section, place);
  }
  out.data = patchData(base.data, p.data);
  out.losses = patchLosses(base.losses, p.losses);
  return seal(out);
}
