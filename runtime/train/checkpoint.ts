/**
 * Training checkpoints: one safetensors file per saved iteration holding the parameters and
 * buffers of every trained network (`student.<mmseg name>`, and `teacher.<mmseg name>` for an
 * EMA teacher; TensorFlow.js layout), the AdamW moments
 * (`optimizer.<name>.exp_avg|exp_avg_sq|step`), and in its metadata the iteration, the canonical
 * experiment and the loop state (logging window, random-stream states) — everything a bit-exact
 * resume needs. Files are written atomically (temporary file, then rename), so a killed run
 * leaves either the old set of checkpoints or the new one, never a torn file.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../tf.ts";
import type { ParamStore } from "../nn/params.ts";
import type { AdamW } from "../optim/adamw.ts";
import { deserialiseAdamWState, serialiseAdamWState } from "../optim/state_io.ts";
import {
  readSafetensors,
  type SafetensorsFile,
  type StoredTensor,
  writeSafetensors,
} from "../io/safetensors.ts";

/** Checkpoint format tag, checked on load. */
export const CHECKPOINT_FORMAT = "uda-lab-checkpoint/1";

const NAME = /^iter_(\d{6,})\.safetensors$/;

/** What a checkpoint records besides tensors. */
export interface CheckpointMeta {
  /** Completed iterations. */
  iteration: number;
  /** Canonical JSON of the experiment. */
  experiment: string;
  /** Experiment hash. */
  hash: string;
  /** Loop state (JSON-serialisable). */
  state: unknown;
}

/** A loaded checkpoint. */
export interface Checkpoint extends CheckpointMeta {
  /** The file. */
  path: string;
  /** Its tensors and metadata. */
  file: SafetensorsFile;
}

/** `checkpoints/iter_000600.safetensors`. */
export function checkpointPath(runDir: string, iteration: number): string {
  return join(runDir, "checkpoints", `iter_${String(iteration).padStart(6, "0")}.safetensors`);
}

/** Iterations of the checkpoints in `runDir`, ascending. */
export async function listCheckpoints(runDir: string): Promise<number[]> {
  const found: number[] = [];
  try {
    for await (const entry of Deno.readDir(join(runDir, "checkpoints"))) {
      const match = NAME.exec(entry.name);
      if (entry.isFile && match) found.push(Number(match[1]));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort((a, b) => a - b);
}

/**
 * Writes a checkpoint, then deletes all but the newest `keep`. `networks` maps a prefix
 * (`student`, `teacher`) to the parameters saved under it.
 */
export async function saveCheckpoint(
  runDir: string,
  meta: CheckpointMeta,
  networks: Readonly<Record<string, ParamStore>>,
  optimizer: AdamW,
  keep: number,
): Promise<string> {
  await Deno.mkdir(join(runDir, "checkpoints"), { recursive: true });
  const tensors: [string, StoredTensor][] = [];
  for (const [prefix, params] of Object.entries(networks)) {
    for (const p of params.list()) {
      tensors.push([`${prefix}.${p.name}`, {
        dtype: "float32",
        shape: [...p.variable.shape],
        data: new Float32Array(await p.variable.data()),
      }]);
    }
  }
  const state = optimizer.state();
  let optimizerState;
  try {
    optimizerState = await serialiseAdamWState(state);
  } finally {
    for (const { m, v } of state.moments.values()) tf.dispose([m, v]);
  }
  for (const [name, t] of optimizerState.tensors) tensors.push([`optimizer.${name}`, t]);
  const path = checkpointPath(runDir, meta.iteration);
  await writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    iteration: String(meta.iteration),
    experiment: meta.experiment,
    hash: meta.hash,
    state: JSON.stringify(meta.state),
    optimizer: optimizerState.metadata.optimizer,
    "optimizer.step": optimizerState.metadata.step,
  });
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    if (old !== meta.iteration) await Deno.remove(checkpointPath(runDir, old));
  }
  return path;
}

/** Reads a checkpoint file, checking its format. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const file = await readSafetensors(path);
  const m = file.metadata;
  if (m.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a UDA-Lab training checkpoint (metadata format is ${
        JSON.stringify(m.format)
      }, expected ${CHECKPOINT_FORMAT}). Weights exported for PyTorch load with ` +
        `--weights in 'forward', not with 'eval' or --resume.`,
    );
  }
  return {
    path,
    file,
    iteration: Number(m.iteration),
    experiment: m.experiment,
    hash: m.hash,
    state: JSON.parse(m.state),
  };
}

/**
 * Assigns the tensors a checkpoint holds under `prefix` (`student` by default, `teacher`) to
 * `params`; every one must be present.
 */
export function restoreParams(
  checkpoint: Checkpoint,
  params: ParamStore,
  prefix = "student",
): void {
  const byName = checkpoint.file.tensors;
  const missing: string[] = [];
  for (const p of params.list()) {
    const t = byName.get(`${prefix}.${p.name}`);
    if (t === undefined || t.shape.join() !== p.variable.shape.join()) missing.push(p.name);
  }
  if (missing.length > 0) {
    throw new Error(
      `${checkpoint.path}: ${missing.length} ${prefix} parameters are missing or mis-shaped ` +
        `(${missing.slice(0, 5).join(", ")}); the checkpoint belongs to another model.`,
    );
  }
  for (const p of params.list()) {
    const t = byName.get(`${prefix}.${p.name}`)!;
    const value = tf.tensor(t.data as Float32Array, t.shape, "float32");
    p.variable.assign(value);
    value.dispose();
  }
}

/** Restores the optimiser moments of a checkpoint. */
export function restoreOptimizer(checkpoint: Checkpoint, optimizer: AdamW): void {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of checkpoint.file.tensors) {
    if (name.startsWith("optimizer.")) tensors.set(name.slice("optimizer.".length), t);
  }
  const state = deserialiseAdamWState({
    tensors,
    metadata: {
      optimizer: checkpoint.file.metadata.optimizer,
      step: checkpoint.file.metadata["optimizer.step"],
    },
  }, checkpoint.path);
  try {
    optimizer.loadState(state);
  } finally {
    for (const { m, v } of state.moments.values()) tf.dispose([m, v]);
  }
}
