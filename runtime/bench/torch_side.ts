/**
 * The PyTorch CPU side of `deno task bench --torch`: runs `scripts/bench_torch.py` (MiT-B0 +
 * SegFormer, the same shapes) in a subprocess and returns its measurement, so one benchmark run
 * measures both sides back to back on the same machine state.
 *
 * @module
 */

/** What `scripts/bench_torch.py` prints. */
export interface TorchMeasurement {
  /** Always "pytorch-cpu". */
  backend: string;
  /** PyTorch version. */
  torch: string;
  /** Intra-op threads used. */
  threads: number;
  /** Median milliseconds of a train step. */
  train_step_ms: number;
  /** Median milliseconds of an eval forward. */
  forward_ms: number;
}

/** How to get the PyTorch side; printed when it cannot run. */
export const TORCH_HELP = "The PyTorch side needs Debian's PyTorch and OpenBLAS: " +
  "`apt-get install python3-torch libopenblas0-pthread` (without OpenBLAS, Debian's torch falls " +
  "back to the reference BLAS and its linear layers run several times slower), run by " +
  "/usr/bin/python3 (pass --python PATH for another interpreter, and allow running it).";

/** Runs the PyTorch benchmark script; throws with {@linkcode TORCH_HELP} when it cannot. */
export async function measureTorch(
  python: string,
  options: { threads: number; repeats: number; batch: number; size: number },
): Promise<TorchMeasurement> {
  const script = new URL("../../scripts/bench_torch.py", import.meta.url).pathname;
  const args = [script, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)])];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error(
      `bench --torch: cannot start ${python}: ${(error as Error).message}. ${TORCH_HELP}`,
    );
  }
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (!output.success) {
    throw new Error(
      `bench --torch: ${python} ${script} failed: ${
        stderr.split("\n").slice(-3).join(" ")
      }. ${TORCH_HELP}`,
    );
  }
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as TorchMeasurement;
}
