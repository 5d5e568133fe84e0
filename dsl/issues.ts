/**
 * Problems found in experiments and patches, each with the dotted path of the offending value,
 * and the error that carries them. Its own module because blocks (their `check`), validation,
 * `extend` and the stored-form reader all report through it.
 *
 * @module
 */

/** One problem found in an experiment. */
export interface Issue {
  /** Dotted path of the offending value. */
  path: string;
  /** What is wrong and what would be right. */
  message: string;
}

/** An invalid experiment or patch; `issues` lists every problem with its path. */
export class ExperimentError extends Error {
  override name = "ExperimentError";
  /** The problems. */
  readonly issues: readonly Issue[];

  /** Builds the one-paragraph message from the issues. */
  constructor(issues: readonly Issue[], context = "experiment") {
    super(
      `${context} is invalid: ` +
        issues.map((i) => `${i.path}: ${i.message}`).join("; ") +
        ". Fix the value in the experiment file (or the --set override) and run again.",
    );
    this.issues = issues;
  }
}

/** Throws an {@linkcode ExperimentError} with one issue (`context` as in its constructor). */
export function fail(path: string, message: string, context = "patch"): never {
  throw new ExperimentError([{ path, message }], context);
}
