/**
 * Exchanging weights with PyTorch by mmseg state-dict name.
 *
 * PyTorch stores `nn.Linear` weights `[out, in]`, convolutions `[out, in, kh, kw]` and depthwise
 * convolutions `[in·multiplier, 1, kh, kw]`; we store `[in, out]`, `[kh, kw, in, out]` and
 * `[kh, kw, in, multiplier]` (each {@linkcode Param} carries its `layout`). Conversion runs on
 * plain arrays, so it needs no backend. Key renaming for published checkpoints lives in
 * `checkpoint_keys.ts`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Param, ParamStore, TorchLayout } from "../nn/params.ts";
import type { SafetensorsFile, StoredTensor } from "./safetensors.ts";
import { type CheckpointFormat, type KeyOptions, normaliseKeys } from "./checkpoint_keys.ts";

/** Transposes row-major `data` of `shape` by `perm`. */
export function transposeArray<T extends Float32Array | Int32Array>(
  data: T,
  shape: readonly number[],
  perm: readonly number[],
): T {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const strides = perm.map((p) => inStrides[p]);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += index[k] * strides[k];
    out[o] = data[src];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

/** The PyTorch shape of a tensor of tfjs `shape` in `layout`. */
export function torchShape(shape: readonly number[], layout: TorchLayout): number[] {
  switch (layout) {
    case "linear":
      return [shape[1], shape[0]];
    case "conv":
      return [shape[3], shape[2], shape[0], shape[1]];
    case "depthwise":
      return [shape[2] * shape[3], 1, shape[0], shape[1]];
    case "plain":
      return [...shape];
  }
}

/** Converts PyTorch-layout data to our layout; `shape` is our (tfjs) shape. */
export function fromTorchLayout(
  data: Float32Array,
  shape: readonly number[],
  layout: TorchLayout,
): Float32Array {
  switch (layout) {
    case "linear":
      return transposeArray(data, [shape[1], shape[0]], [1, 0]);
    case "conv":
      return transposeArray(data, [shape[3], shape[2], shape[0], shape[1]], [2, 3, 1, 0]);
    case "depthwise":
      // [in·mult, 1, kh, kw] viewed as [in, mult, kh, kw] → [kh, kw, in, mult].
      return transposeArray(data, [shape[2], shape[3], shape[0], shape[1]], [2, 3, 0, 1]);
    case "plain":
      return data;
  }
}

/** Converts our-layout data (tfjs `shape`) to PyTorch's layout. */
export function toTorchLayout(
  data: Float32Array,
  shape: readonly number[],
  layout: TorchLayout,
): Float32Array {
  switch (layout) {
    case "linear":
      return transposeArray(data, shape, [1, 0]);
    case "conv":
      return transposeArray(data, shape, [3, 2, 0, 1]);
    case "depthwise":
      return transposeArray(data, shape, [2, 3, 0, 1]);
    case "plain":
      return data;
  }
}

/** Options of {@linkcode loadTorchWeights}: the key options plus strictness. */
export interface LoadOptions extends KeyOptions {
  /** Throw when keys are missing, unexpected or mis-shaped (default true); else warn. */
  strict?: boolean;
  /** Receives the report's text when `strict` is false and something did not match. */
  onWarning?: (message: string) => void;
}

/** What a load found, by name. */
export interface LoadReport {
  /** The naming the checkpoint used. */
  format: CheckpointFormat;
  /** Parameters that were loaded. */
  loaded: string[];
  /** Parameters of the network with no tensor in the file. */
  missing: string[];
  /** File tensors (after renaming) that match no parameter. */
  unexpected: string[];
  /** Parameters whose file tensor has the wrong shape, with both shapes. */
  misshaped: string[];
  /** File keys deliberately skipped, with the reason. */
  ignored: string[];
  /** Explanations (see `checkpoint_keys.ts`). */
  notes: string[];
}

/** True when the report holds a missing, unexpected or mis-shaped key. */
export function hasProblems(report: LoadReport): boolean {
  return report.missing.length + report.unexpected.length + report.misshaped.length > 0;
}

/**
 * One paragraph describing the problems of a load, naming up to `limit` keys per kind (the
 * counts are always complete).
 */
export function formatLoadReport(report: LoadReport, source: string, limit = 12): string {
  const list = (label: string, names: string[]) =>
    names.length === 0
      ? ""
      : ` ${label} (${names.length}): ${names.slice(0, limit).join(", ")}${
        names.length > limit ? `, and ${names.length - limit} more` : ""
      }.`;
  return `${source}: the weights (${report.format} naming) do not match the network.` +
    list("Missing", report.missing) + list("Unexpected", report.unexpected) +
    list("Mis-shaped", report.misshaped) +
    (report.notes.length > 0 ? ` ${report.notes.join(" ")}` : "") +
    ` Check the model spec (encoder, decoder, --classes, --channels) against the checkpoint; ` +
    `see docs/weights.md for prefixes, UDA checkpoints and encoder-only loading.`;
}

/**
 * Loads PyTorch-layout tensors into `params` by mmseg name, after {@linkcode normaliseKeys}.
 * Nothing is assigned when a strict load finds a problem. With `backboneOnly`, only `backbone.*`
 * parameters are expected. `source` names the file in messages.
 */
export function loadTorchWeights(
  params: ParamStore,
  file: SafetensorsFile,
  source: string,
  options: LoadOptions = {},
): LoadReport {
  const { strict = true, onWarning = console.warn, ...keyOptions } = options;
  const { tensors, ignored, format, notes } = normaliseKeys(file.tensors, keyOptions);
  const targets: Param[] = params.list().filter((p) =>
    !keyOptions.backboneOnly || p.name.startsWith("backbone.")
  );
  const report: LoadReport = {
    format,
    loaded: [],
    missing: [],
    unexpected: [],
    misshaped: [],
    ignored,
    notes,
  };
  const remaining = new Map(tensors);
  const updates: [Param, Float32Array][] = [];
  for (const param of targets) {
    const stored = remaining.get(param.name);
    remaining.delete(param.name);
    if (stored === undefined) {
      report.missing.push(param.name);
      continue;
    }
    const expected = torchShape(param.variable.shape, param.layout);
    if (stored.shape.join() !== expected.join()) {
      report.misshaped.push(`${param.name} (file [${stored.shape}], network [${expected}])`);
      continue;
    }
    const data = stored.data instanceof Float32Array ? stored.data : Float32Array.from(stored.data);
    updates.push([param, fromTorchLayout(data, param.variable.shape, param.layout)]);
  }
  report.unexpected = [...remaining.keys()];
  if (hasProblems(report)) {
    if (strict) throw new Error(formatLoadReport(report, source));
    onWarning(`${formatLoadReport(report, source)} (strict=false: loaded the rest)`);
  }
  for (const [param, data] of updates) {
    const value = tf.tensor(data, param.variable.shape, "float32");
    param.variable.assign(value);
    value.dispose();
    report.loaded.push(param.name);
  }
  return report;
}

/** Options of {@linkcode exportTorchWeights}. */
export interface ExportOptions {
  /**
   * Add an int32 scalar `num_batches_tracked` (0) beside every BatchNorm's `running_mean`, so
   * PyTorch's strict `load_state_dict` accepts the file (default true). We do not count batches;
   * torch reads the counter only when BatchNorm's momentum is None.
   */
  batchNormCounters?: boolean;
}

/** Every parameter and buffer in PyTorch layout under its mmseg name, for `writeSafetensors`. */
export async function exportTorchWeights(
  params: ParamStore,
  options: ExportOptions = {},
): Promise<[string, StoredTensor][]> {
  const { batchNormCounters = true } = options;
  const out: [string, StoredTensor][] = [];
  for (const p of params.list()) {
    const data = toTorchLayout(
      new Float32Array(await p.variable.data()),
      p.variable.shape,
      p.layout,
    );
    out.push([p.name, { dtype: "float32", shape: torchShape(p.variable.shape, p.layout), data }]);
    if (batchNormCounters && p.name.endsWith(".running_mean")) {
      const counter = `${p.name.slice(0, -".running_mean".length)}.num_batches_tracked`;
      out.push([counter, { dtype: "int32", shape: [], data: new Int32Array(1) }]);
    }
  }
  return out;
}
