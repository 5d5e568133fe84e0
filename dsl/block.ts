/**
 * Blocks: frozen, JSON-serialisable parameter records with a `kind`, made by factories that fill
 * in every default. A factory remembers which fields the caller set, so `extend` can merge a
 * patch block of the same kind field by field without the defaults it filled in overwriting the
 * base.
 *
 * @module
 */
import { checkValue, type Field, type Schema } from "./schema.ts";

/** Any block: a kind plus its parameters. */
export interface AnyBlock {
  /** The block's kind, e.g. `crossEntropy`. */
  readonly kind: string;
}

/** A block of kind `K` with parameters `P`. */
export type Block<K extends string, P> = Readonly<{ kind: K } & P>;

/** The parameters a factory accepts: any subset, nested blocks as blocks. */
export type BlockParams<P> = Partial<P>;

/** How a block kind is defined. */
export interface BlockDefinition<K extends string = string, P = unknown> {
  /** The kind. */
  readonly kind: K;
  /** The family it belongs to (`loss`, `encoder`, `dataset`, ...). */
  readonly family: string;
  /** One field per parameter. */
  readonly schema: Schema<P>;
  /** One line on what the block is, for `show --help`-style listings and errors. */
  readonly summary: string;
}

/** A block factory: fills defaults, freezes, and records which fields were given. */
export type BlockFactory<K extends string, P> =
  & ((params?: BlockParams<P>) => Block<K, P>)
  & { readonly definition: BlockDefinition<K, P> };

const EXPLICIT = Symbol("explicitFields");
const definitions = new Map<string, BlockDefinition>();

/**
 * Defines a block kind. Every kind lives in a module of `dsl/blocks/`, all of which `dsl/mod.ts`
 * imports, so the table of kinds is complete whenever the language is loaded (no registration
 * step a user could forget).
 */
export function defineBlock<K extends string, P>(
  definition: BlockDefinition<K, P>,
): BlockFactory<K, P> {
  if (definitions.has(definition.kind)) {
    throw new Error(`block kind '${definition.kind}' is defined twice`);
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

/** True for a block object (has a string `kind` naming a defined block). */
export function isBlock(value: unknown): value is AnyBlock {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as AnyBlock).kind === "string" && definitions.has((value as AnyBlock).kind);
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
