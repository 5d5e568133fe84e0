/**
 * The table of block runtime modules, by kind. Each module registers itself when imported;
 * `runtime/blocks/mod.ts` imports the built-in ones, so the table is complete whenever the
 * compiler is loaded. A block defined elsewhere (a user's package, a test) registers its
 * module by importing a file that calls {@linkcode registerBlockModule}.
 *
 * @module
 */
import type { AnyBlock } from "../../dsl/mod.ts";
import type { BlockModule } from "./types.ts";

const modules = new Map<string, BlockModule>();

/** Registers the runtime module of a block kind (once per kind). */
export function registerBlockModule<B extends AnyBlock>(module: BlockModule<B>): BlockModule<B> {
  if (modules.has(module.kind)) {
    throw new Error(`block kind '${module.kind}' has two runtime modules`);
  }
  modules.set(module.kind, module as unknown as BlockModule);
  return module;
}

/** The runtime module of `kind`, failing with the kinds that have one. */
export function blockModule(kind: string, path: string): BlockModule {
  const module = modules.get(kind);
  if (module === undefined) {
    throw new Error(
      `${path}: block kind '${kind}' has no runtime module (the runtime knows ${
        [...modules.keys()].sort().join(", ")
      }). A block defined outside UDA-Lab must import a file that calls ` +
        `registerBlockModule() before the experiment is compiled.`,
    );
  }
  return module;
}
