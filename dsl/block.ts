/**
 * Blocks: frozen, JSON-serialisable parameter records with a `kind`, made by factories that fill
 * in every default. A factory remembers which fields the caller set, so `extend` can merge a
 * patch block of the same kind field by field without the defaults it filled in overwriting the
 * base.
 *
 * @module
 */
import { checkValue, type Field, type Schema } from "./schema.ts";
import type { Issue } from "./issues.ts";
import type { Experiment } from "./experiment.ts";

/** Any block: a kind plus its parameters. */
export interface AnyBlock {
  /** The block's kind (the name of its factory). */
  readonly kind: string;
}

/** A block of kind `K` with parameters `P`. */
export type Block<K extends string, P> = Readonly<{ kind: K } & P>;

/** The parameters a factory accepts: any subset, nested blocks as blocks. */
export type BlockParams<P> = Partial<P>;

/** Where a block sits, for its {@linkcode BlockDefinition.check}. */
export interface CheckContext {
  /** The whole experiment, already valid section by section and field by field. */
  readonly experiment: Experiment;
  /** The block's dotted path: `losses.ce`, `data.source`, `model.encoder`, `teacher`. */
  readonly path: string;
}

/**
 * How a block kind is defined. Everything the language needs to know about a kind lives here, in
 * the kind's own file, so validation, `extend` and `--set` stay generic over kinds.
 */
export interface BlockDefinition<K extends string = string, P = unknown> {
  /** The kind. */
  readonly kind: K;
  /** The family it belongs to (`loss`, `encoder`, `dataset`, ...). */
  readonly family: string;
  /** One field per parameter. */
  readonly schema: Schema<P>;
  /** One line on what the block is, for `show --help`-style listings and errors. */
  readonly summary: string;
  /**
   * When true, this block with its published defaults fills a required place of its family
   * that an experiment leaves out (`optimizer`, `schedule`, `evaluation`, ...). At most one kind
   * per family.
   */
  readonly familyDefault?: boolean;
  /**
   * Fields added after experiments with this kind were first stored (`experiment.yaml`, a
   * checkpoint, another checkout's definition), with the value that stored data written before
   * them meant: a stored block without the field is read with this value, not the new default,
   * so an old run is evaluated and compared as what it was.
   */
  readonly storedDefaults?: Readonly<Partial<Record<keyof P & string, unknown>>>;
  /**
   * What field schemas cannot see: requirements on other blocks (a term that reads pseudo-labels
   * needs a teacher; a crop must fit the resized image). Called for every block in the tree once
   * the tree is valid field by field; returns the problems, each with its path (usually below
   * `context.path`) and the fix.
   */
  check?(block: Block<K, P>, context: CheckContext): readonly Issue[];
  /**
   * Loss terms only: the views (named inputs of a step) the term reads, e.g. `["source"]`, so a
   * block that makes a view (a teacher's pseudo-labels, a mixed batch) can check that some term
   * reads it.
   */
  views?(block: Block<K, P>): readonly string[];
}

/** A block factory: fills defaults, freezes, and records which fields were given. */
export type BlockFactory<K extends string, P> =
  & ((params?: BlockParams<P>) => Block<K, P>)
  & { readonly definition: BlockDefinition<K, P> };

const EXPLICIT = Symbol("explicitFields");
const definitions = new Map<string, BlockDefinition>();

/**
 * Defines a block kind. Every kind lives in a module of `dsl/blocks/`, all of which `dsl/mod.ts`
 * imports through `dsl/blocks/mod.ts`, so the table of kinds is complete whenever the language
 * is loaded (no registration step a user could forget).
 */
export function defineBlock<K extends string, P>(
  definition: BlockDefinition<K, P>,
): BlockFactory<K, P> {
  if (definitions.has(definition.kind)) {
    throw new Error(`block kind '${definition.kind}' is defined twice`);
  }
  const rival = definition.familyDefault ? familyDefaultDefinition(definition.family) : undefined;
  if (rival !== undefined) {
    throw new Error(
      `${definition.kind} and ${rival.kind} are both the default of family '${definition.family}'`,
    );
  }
  definitions.set(definition.kind, definition as BlockDefinition);
  const factory = (params: BlockParams<P> = {}) =>
    makeBlock(definition as BlockDefinition, params as Record<string, unknown>) as Block<K, P>;
  return Object.assign(factory, { definition });
}

/** The definition of `kind`, or undefined. */
export function blockDefinition(kind: string): BlockDefinition | undefined {
  return definitions.get(kind);
}

/** Every defined kind of `family`, sorted. */
export function kindsOf(family: string): string[] {
  return [...definitions.values()].filter((d) => d.family === family).map((d) => d.kind).sort();
}

function familyDefaultDefinition(family: string): BlockDefinition | undefined {
  return [...definitions.values()].find((d) => d.family === family && d.familyDefault === true);
}

/** The default block of `family` (see {@linkcode BlockDefinition.familyDefault}), or undefined. */
export function familyDefault(family: string): AnyBlock | undefined {
  const definition = familyDefaultDefinition(family);
  return definition === undefined ? undefined : makeBlock(definition, {});
}

/** The views the experiment's loss terms read (see {@linkcode BlockDefinition.views}). */
export function viewsRead(experiment: Experiment): ReadonlySet<string> {
  const views = new Set<string>();
  for (const term of Object.values(experiment.losses) as AnyBlock[]) {
    for (const view of blockDefinition(term.kind)?.views?.(term) ?? []) views.add(view);
  }
  return views;
}

/** True for a block object (has a string `kind` naming a defined block). */
export function isBlock(value: unknown): value is AnyBlock {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as AnyBlock).kind === "string" && definitions.has((value as AnyBlock).kind);
}

/**
 * True for a block made by a factory or {@linkcode makeBlock} (it knows which fields were
 * given), false for plain data with a `kind` (parsed JSON, a spread copy).
 */
export function isMadeBlock(value: unknown): value is AnyBlock {
  return isBlock(value) && (value as unknown as Record<symbol, unknown>)[EXPLICIT] !== undefined;
}

/** The fields a caller set explicitly when making `block` (all of them for plain objects). */
export function explicitFields(block: AnyBlock): ReadonlySet<string> {
  const explicit = (block as unknown as Record<symbol, Set<string>>)[EXPLICIT];
  return explicit ?? new Set(Object.keys(block).filter((k) => k !== "kind"));
}

/** Deep-freezes plain data (arrays and objects). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function copyValue(field: Field, value: unknown): unknown {
  if (field.type === "pair" || field.type === "numbers") {
    return Array.isArray(value) ? [...value] : value;
  }
  if (field.type === "rules" && typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, typeof v === "object" ? { ...v } : v]),
    );
  }
  return value;
}

/**
 * Builds a block from a definition and given fields. Unknown fields are kept (and reported by
 * validation with their path) rather than dropped, so a misspelling from JavaScript or `--set`
 * is never silently ignored.
 */
export function makeBlock(
  definition: BlockDefinition,
  params: Readonly<Record<string, unknown>>,
  explicit: Iterable<string> = Object.keys(params),
): AnyBlock {
  const schema = definition.schema as Record<string, Field>;
  const out: Record<string, unknown> = { kind: definition.kind };
  for (const [name, field] of Object.entries(schema)) {
    if (name in params && params[name] !== undefined) out[name] = copyValue(field, params[name]);
    else if (field.type === "block") {
      throw new Error(
        `${definition.kind}: '${name}' has no default; give a ${field.family} block.`,
      );
    } else out[name] = copyValue(field, field.default);
  }
  for (const [name, value] of Object.entries(params)) {
    if (!(name in schema) && name !== "kind") out[name] = value;
  }
  Object.defineProperty(out, EXPLICIT, {
    value: new Set([...explicit].filter((k) => k !== "kind")),
    enumerable: false,
  });
  return deepFreeze(out) as unknown as AnyBlock;
}

/** Checks a field value, for callers that know the path. */
export function fieldProblem(field: Field, value: unknown): string | undefined {
  return checkValue(field, value);
}

/** Marks a loss term (or any optional record entry) as removed in {@linkcode extend} patches. */
export const off: Off = Object.freeze({ kind: "off" as const });

/** The type of {@linkcode off}. */
export interface Off {
  /** Always `off`. */
  readonly kind: "off";
}

/** True for {@linkcode off}. */
export function isOff(value: unknown): value is Off {
  return typeof value === "object" && value !== null && (value as Off).kind === "off";
}
