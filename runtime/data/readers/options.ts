/**
 * The options every reader takes, and the wording they give its messages.
 *
 * @module
 */
import { strictLabels } from "../label_policy.ts";

/** Options every reader takes. */
export interface ReaderOptions {
  /**
   * Refuse label files holding values outside the dataset's ids instead of warning once per
   * file; unset: the process default (`setStrictLabels`, the `--strict-labels` flag).
   */
  strictLabels?: boolean;
  /**
   * The experiment path of the dataset block that opened the reader (`data.targetVal`), so that a
   * missing folder names the fields to correct; unset: the data command's `--root`/`--split`.
   */
  field?: string;
}

/** What a reader's folder messages ask the user to check, and its label policy. */
export interface ReaderSettings {
  /** For a missing folder: the fields (or flags) to correct. */
  missing: string;
  /** For an empty folder: the fields to correct, only when an experiment opened the reader. */
  empty?: string;
  /** Whether unknown label values are an error. */
  strict: boolean;
}

/**
 * Resolves a reader's options once, when it opens: the strict default is read then, so a
 * dataset keeps the policy it was opened with. `usesSplit`: whether the reader reads a split.
 */
export function readerSettings(options: ReaderOptions, usesSplit: boolean): ReaderSettings {
  const strict = options.strictLabels ?? strictLabels();
  // The data command's wording is kept as it always was.
  if (options.field === undefined) return { missing: "--root and --split", strict };
  const root = `${options.field}.root`;
  const fields = usesSplit ? `${root} and ${options.field}.split` : root;
  return { missing: fields, empty: fields, strict };
}
