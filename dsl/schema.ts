/**
 * Field schemas: what each parameter of a block may hold. One schema per block serves four
 * jobs — filling defaults, validating values with their path, parsing `--set` overrides, and
 * documenting the block — so the TypeScript interface and the runtime checks cannot drift: a
 * block's schema is typed as {@linkcode Schema} of its parameter interface, which requires one
 * field per parameter of the right kind.
 *
 * @module
 */

/** A number, optionally an integer, within bounds. */
export interface NumberField {
  /** Discriminant. */
  type: "number";
  /** The published value. */
  default: number;
  /** Smallest allowed value. */
  min?: number;
  /** Largest allowed value. */
  max?: number;
  /** When true, `min` itself is not allowed. */
  exclusiveMin?: boolean;
  /** When true, only integers are allowed. */
  integer?: boolean;
}

/** A boolean. */
export interface BooleanField {
  /** Discriminant. */
  type: "boolean";
  /** Default value. */
  default: boolean;
}

/** One of a fixed set of strings. */
export interface EnumField<T extends string = string> {
  /** Discriminant. */
  type: "enum";
  /** Allowed values. */
  values: readonly T[];
  /** Default value. */
  default: T;
}

/** Free text, for example a file path ("" = unset). */
export interface StringField {
  /** Discriminant. */
  type: "string";
  /** Default value. */
  default: string;
}

/** A pair of integers, for example a crop `[height, width]`. */
export interface PairField {
  /** Discriminant. */
  type: "pair";
  /** Default value. */
  default: readonly [number, number];
  /** Smallest allowed element. */
  min: number;
  /** When set, both elements must be multiples of it (e.g. the encoder's stride 32). */
  multipleOf?: number;
}

/** A list of numbers. */
export interface NumbersField {
  /** Discriminant. */
  type: "numbers";
  /** Default value. */
  default: readonly number[];
  /** Smallest allowed element. */
  min?: number;
  /** Largest allowed element. */
  max?: number;
  /** When set, the list must have exactly this many elements. */
  length?: number;
}

/** Multipliers of one parameter group (mmcv `custom_keys` entry). */
export interface GroupMultipliers {
  /** Learning-rate multiplier. */
  readonly lrMult: number;
  /** Weight-decay multiplier. */
  readonly decayMult: number;
}

/** mmcv `paramwise_cfg.custom_keys`: substring of a parameter name → multipliers. */
export interface RulesField {
  /** Discriminant. */
  type: "rules";
  /** Default table. */
  default: Readonly<Record<string, GroupMultipliers>>;
}

/** A nested block of one family (`model.encoder` holds an encoder). */
export interface BlockField {
  /** Discriminant. */
  type: "block";
  /** The family the value must belong to. */
  family: string;
}

/** Any field. */
export type Field =
  | NumberField
  | BooleanField
  | EnumField
  | StringField
  | PairField
  | NumbersField
  | RulesField
  | BlockField;

/** The field kind a parameter type needs. */
export type FieldFor<T> = [T] extends [number] ? NumberField
  : [T] extends [boolean] ? BooleanField
  : [T] extends [{ readonly kind: string }] ? BlockField
  : [T] extends [string] ? (string extends T ? StringField : EnumField<T>)
  : [T] extends [readonly [number, number]] ? PairField
  : [T] extends [readonly number[]] ? NumbersField
  : [T] extends [Readonly<Record<string, GroupMultipliers>>] ? RulesField
  : never;

/** A block's schema: one field per parameter, each documented in the parameter interface. */
export type Schema<P> = { readonly [K in keyof P]-?: FieldFor<P[K]> };

/** Shorthand for a number field. */
export function num(
  defaultValue: number,
  bounds: Omit<NumberField, "type" | "default"> = {},
): NumberField {
  return { type: "number", default: defaultValue, ...bounds };
}

/** Shorthand for an integer field (≥ `min`, 0 by default). */
export function int(defaultValue: number, min = 0, max?: number): NumberField {
  return { type: "number", default: defaultValue, integer: true, min, max };
}

/** Shorthand for an enum field. */
export function oneOf<T extends string>(values: readonly T[], defaultValue: T): EnumField<T> {
  return { type: "enum", values, default: defaultValue };
}

/** Shorthand for a boolean field. */
export function bool(defaultValue: boolean): BooleanField {
  return { type: "boolean", default: defaultValue };
}

/** Shorthand for a free-text field. */
export function text(defaultValue = ""): StringField {
  return { type: "string", default: defaultValue };
}

/** Shorthand for an integer-pair field. */
export function pair(
  defaultValue: readonly [number, number],
  min = 1,
  multipleOf?: number,
): PairField {
  return { type: "pair", default: defaultValue, min, multipleOf };
}

/** Shorthand for a list-of-numbers field. */
export function numbers(
  defaultValue: readonly number[],
  bounds: Omit<NumbersField, "type" | "default"> = {},
): NumbersField {
  return { type: "numbers", default: defaultValue, ...bounds };
}

/** Shorthand for a nested-block field. */
export function block(family: string): BlockField {
  return { type: "block", family };
}

/** Describes what a field accepts, for error messages ("an integer ≥ 1"). */
export function describeField(field: Field): string {
  switch (field.type) {
    case "number": {
      const what = field.integer ? "an integer" : "a number";
      const low = field.min === undefined ? "" : `${field.exclusiveMin ? ">" : "≥"} ${field.min}`;
      const high = field.max === undefined ? "" : `≤ ${field.max}`;
      const range = [low, high].filter((s) => s !== "").join(" and ");
      return range === "" ? what : `${what} ${range}`;
    }
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${field.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "string":
      return "a string";
    case "pair":
      return `a pair of integers [a, b], each ≥ ${field.min}` +
        (field.multipleOf ? ` and a multiple of ${field.multipleOf}` : "");
    case "numbers": {
      const count = field.length === undefined
        ? "a list of numbers"
        : `a list of ${field.length} numbers`;
      const range = [
        field.min === undefined ? "" : `≥ ${field.min}`,
        field.max === undefined ? "" : `≤ ${field.max}`,
      ].filter((x) => x !== "").join(" and ");
      return range === "" ? count : `${count}, each ${range}`;
    }
    case "rules":
      return "a table { key: { lrMult, decayMult } } of finite numbers ≥ 0";
    case "block":
      return `a ${field.family} block`;
  }
}

/**
 * Checks one value against its field. Returns the problem as a phrase, or undefined when the
 * value fits. Nested blocks are checked by the caller (it knows the path).
 */
export function checkValue(field: Field, value: unknown): string | undefined {
  const bad = () => `expected ${describeField(field)}, got ${JSON.stringify(value) ?? "nothing"}`;
  switch (field.type) {
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return bad();
      if (field.integer && !Number.isInteger(value)) return bad();
      if (field.min !== undefined) {
        if (field.exclusiveMin ? value <= field.min : value < field.min) return bad();
      }
      if (field.max !== undefined && value > field.max) return bad();
      return undefined;
    }
    case "boolean":
      return typeof value === "boolean" ? undefined : bad();
    case "enum":
      return field.values.includes(value as string) ? undefined : bad();
    case "string":
      return typeof value === "string" ? undefined : bad();
    case "pair": {
      if (!Array.isArray(value) || value.length !== 2) return bad();
      const ok = value.every((v) =>
        typeof v === "number" && Number.isInteger(v) && v >= field.min &&
        (field.multipleOf === undefined || v % field.multipleOf === 0)
      );
      return ok ? undefined : bad();
    }
    case "numbers": {
      if (!Array.isArray(value)) return bad();
      if (field.length !== undefined && value.length !== field.length) return bad();
      const ok = value.every((v) =>
        typeof v === "number" && Number.isFinite(v) &&
        (field.min === undefined || v >= field.min) && (field.max === undefined || v <= field.max)
      );
      return ok ? undefined : bad();
    }
    case "rules": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return bad();
      for (const [key, entry] of Object.entries(value)) {
        if (key === "") return `${bad()} (a rule key must be a non-empty substring)`;
        const e = entry as Record<string, unknown>;
        const keys = typeof e === "object" && e !== null ? Object.keys(e).sort().join() : "";
        if (keys !== "decayMult,lrMult") return bad();
        for (const v of [e.lrMult, e.decayMult]) {
          if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return bad();
        }
      }
      return undefined;
    }
    case "block":
      return typeof value === "object" && value !== null && "kind" in value ? undefined : bad();
  }
}
