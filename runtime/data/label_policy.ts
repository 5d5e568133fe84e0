/**
 * Whether label values outside a dataset's id space stop the run (`--strict-labels`) or are
 * ignored with a warning (the default, as the reference converters silently map them to 255).
 *
 * A dataset request can set it explicitly (`DatasetRequest.strictLabels`); otherwise the process
 * default set here applies. The default is plain module state rather than an environment
 * variable so that commands need no `--allow-env`, and the data loader copies it into every
 * worker it starts (`prefetch/loader.ts`), so workers decode under the same policy.
 *
 * @module
 */

/** The command-line flag that turns strict label checking on. */
export const STRICT_LABELS_FLAG = "--strict-labels";

let strictDefault = false;

/** Sets the process default (what requests without `strictLabels` get). */
export function setStrictLabels(strict: boolean): void {
  strictDefault = strict;
}

/** The process default: whether unknown label values are an error. */
export function strictLabels(): boolean {
  return strictDefault;
}

/**
 * Takes `--strict-labels` out of a command's arguments and returns the others (for the command's
 * own parser, which does not know the flag). The process default becomes whether the flag was
 * there, so a command called twice in one process (tests) never inherits the previous call's.
 */
export function takeStrictLabelsFlag(args: readonly string[]): string[] {
  const rest = args.filter((a) => a !== STRICT_LABELS_FLAG);
  setStrictLabels(rest.length !== args.length);
  return rest;
}
