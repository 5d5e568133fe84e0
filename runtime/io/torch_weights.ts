/**
 * Exchanging weights with PyTorch by mmseg state-dict name.
 *
 * PyTorch stores `nn.Linear` weights `[out, in]`, convolutions `[out, in, kh, kw]` and depthwise
 * convolutions `[in·multiplier, 1, kh, kw]`; we store `[in, out]`, `[kh, kw, in, out]` and
 * `[kh, kw, in, multiplier]` (each {@linkcode Param} carries its `layout`). Conversion runs on
 * plain arrays, so it needs no backend.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Param, ParamStore, TorchLayout } from "../nn/params.ts";
import type { SafetensorsFile, StoredTensor } from "./safetensors.ts";

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

/** Options of {@linkcode loadTorchWeights}. */
export interface LoadOptions {
  /** Throw when keys are missing, unexpected or mis-shaped (default true). */
  strict?: boolean;
  /** Prefixes removed from file keys first (`model.` of UDA checkpoints, `module.` of DDP). */
  stripPrefixes?: readonly string[];
  /**
   * Load only the encoder from an ImageNet MiT checkpoint (`mit_b5.pth` converted), whose keys
   * lack the `backbone.` prefix; decoder parameters are then neither loaded nor reported missing.
   */
  backboneOnly?: boolean;
}

/** What a load found, by name. */
export interface LoadReport {
  /** Parameters that were loaded. */
  loaded: string[];
  /** Parameters of the network with no tensor in the file. */
  missing: string[];
  /** File tensors that match no parameter. */
  unexpected: string[];
  /** Parameters whose file tensor has the wrong shape, with both shapes. */
  misshaped: string[];
}

/** Renames the NVlabs SegFormer release's `decode_head.linear_c{1-4}` to mmseg's `linear_c.{0-3}`. */
export function canonicalKey(key: string): string {
  return key.replace(
    /^decode_head\.linear_c([1-4])\./,
    (_, level) => `decode_head.linear_c.${Number(level) - 1}.`,
  );
}

/** PyTorch buffers we do not model (BatchNorm's step counter); skipped silently. */
function isIgnoredBuffer(key: string): boolean {
  return key.endsWith(".num_batches_tracked");
}

/** Loads PyTorch-layout tensors into `params` by mmseg name. */
export function loadTorchWeights(
  params: ParamStore,
  file: SafetensorsFile,
  source: string,
  options: LoadOptions = {},
): LoadReport {
  const { strict = true, stripPrefixes = ["model.", "module."], backboneOnly = false } = options;
  const byName = new Map<string, StoredTensor>();
  for (const [rawKey, tensor] of file.tensors) {
    if (isIgnoredBuffer(rawKey)) continue;
    let key = rawKey;
    for (const prefix of stripPrefixes) if (key.startsWith(prefix)) key = key.slice(prefix.length);
    if (backboneOnly) {
      if (key.startsWith("head.")) continue; // the ImageNet classifier
      if (!key.startsWith("backbone.")) key = `backbone.${key}`;
    }
    byName.set(canonicalKey(key), tensor);
  }
  const targets: Param[] = params.list().filter((p) =>
    !backboneOnly || p.name.startsWith("backbone.")
  );
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], misshaped: [] };
  const updates: [Param, Float32Array][] = [];
  for (const param of targets) {
    const stored = byName.get(param.name);
    byName.delete(param.name);
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
  report.unexpected = [...byName.keys()];
  const problems = report.missing.length + report.unexpected.length + report.misshaped.length;
  if (strict && problems > 0) {
    const list = (label: string, names: string[]) =>
      names.length === 0
        ? ""
        : ` ${label} (${names.length}): ${names.slice(0, 8).join(", ")}${
          names.length > 8 ? ", …" : ""
        }.`;
    throw new Error(
      `${source}: the weights do not match the network.` + list("Missing", report.missing) +
        list("Unexpected", report.unexpected) + list("Mis-shaped", report.misshaped) +
        ` Check the model spec (encoder, decoder, --classes, --channels) against the checkpoint, or load with strict=false.`,
    );
  }
  for (const [param, data] of updates) {
    const value = tf.tensor(data, param.variable.shape, "float32");
    param.variable.assign(value);
    value.dispose();
    report.loaded.push(param.name);
  }
  return report;
}

/** Every parameter and buffer in PyTorch layout, ready for `writeSafetensors`. */
export async function exportTorchWeights(params: ParamStore): Promise<[string, StoredTensor][]> {
  const out: [string, StoredTensor][] = [];
  for (const p of params.list()) {
    const data = toTorchLayout(
      new Float32Array(await p.variable.data()),
      p.variable.shape,
      p.layout,
    );
    out.push([p.name, { dtype: "float32", shape: torchShape(p.variable.shape, p.layout), data }]);
  }
  return out;
}
