/**
 * What the run tests share: fresh run directories and the reproducible part of a run's metrics.
 *
 * @module
 */
import { join } from "node:path";
import { readMetrics, TIMING_FIELDS } from "../../runtime/report/metrics_log.ts";

/** `root/name`, removed first so the run starts from nothing. */
export async function fresh(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return dir;
}

/** The reproducible content of a run's metrics: everything but speeds, times, tensor counts. */
export async function reproducible(dir: string): Promise<unknown[]> {
  return (await readMetrics(dir)).map((r) => {
    const copy: Record<string, unknown> = { ...r };
    for (const f of TIMING_FIELDS) delete copy[f];
    return copy;
  });
}
