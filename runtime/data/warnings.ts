/**
 * Data warnings, printed once per process per key (a file path): a file read every epoch, by
 * several data workers, or by both the class statistics and the loader still warns once.
 *
 * Each worker is its own isolate with its own copy of this module, so a worker cannot see what
 * the main thread or another worker has printed. The worker therefore installs a sink that
 * forwards to the main thread (`prefetch/worker.ts`), whose loader hands the warning back to
 * {@linkcode warnOnce} here; the main thread's set of printed keys is the one that counts.
 *
 * @module
 */

/** Where a warning goes once it is due: the main thread prints it; a worker forwards it. */
export type WarningSink = (key: string, message: string) => void;

/** Prints to stderr, which reaches the user's terminal whatever is on stdout. */
const printToStderr: WarningSink = (_key, message) => console.warn(`warning: ${message}`);

let sink: WarningSink = printToStderr;
const warned = new Set<string>();

/** Sends `message` to the sink unless a warning with this key was already sent. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  sink(key, message);
}

/**
 * Replaces the sink and returns the previous one (a data worker forwards to the main thread;
 * tests collect the messages). `undefined` restores printing to stderr.
 */
export function setWarningSink(next: WarningSink | undefined): WarningSink {
  const previous = sink;
  sink = next ?? printToStderr;
  return previous;
}
