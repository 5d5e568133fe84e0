/**
 * Normalising the keys of published checkpoints to the names our networks use — the state-dict
 * keys of the DAFormer repository's vendored mmseg 0.16 (`shared/reference/daformer_hrda_mic.md`
 * §5) — before they are loaded by name.
 *
 * Recognised sources, in the order they are handled:
 * 1. `module.` (DataParallel) prefixes are stripped.
 * 2. UDA checkpoints (DAFormer/HRDA/MIC `latest.pth`) hold three networks: `model.` (the student),
 *    `ema_model.` (the teacher) and `imnet_model.` (the frozen ImageNet copy for feature
 *    distance). One is chosen (`submodel`, default `model`), its prefix stripped, the others
 *    ignored.
 * 3. A caller's rename table: `[from, to]` prefix pairs, the first matching pair applied.
 * 4. ImageNet MiT checkpoints (`mit_b5.pth`, keys without `backbone.`), when loading the encoder
 *    only: `backbone.` is prepended; the classifier `head.*` and any `decode_head.*` /
 *    `auxiliary_head.*` keys are ignored.
 * 5. mmseg ≥ 0.20 encoder keys (`backbone.layers.{s}.…`, written by mmseg's
 *    `tools/model_converters/mit2mmseg.py`) are converted back: `layers.{s}.0` → `patch_embed{s+1}`
 *    (`projection` → `proj`), `layers.{s}.1.{i}` → `block{s+1}.{i}` (the fused
 *    `attn.attn.in_proj_{weight,bias}` split into `attn.q` (first C rows) and `attn.kv` (the
 *    other 2C), `attn.attn.out_proj` → `attn.proj`, `ffn.layers.{0,1,4}` → `mlp.{fc1,
 *    dwconv.dwconv, fc2}` with the 1×1-conv weights `[o, i, 1, 1]` reshaped to `[o, i]`),
 *    `layers.{s}.2` → `norm{s+1}`.
 * 6. NVlabs SegFormer heads spell the levels `decode_head.linear_c{1-4}`; they become
 *    `linear_c.{0-3}`. NVlabs concatenates the levels as [c4, c3, c2, c1] before `linear_fuse`,
 *    the DAFormer copy as [c1, c2, c3, c4], so the input-channel blocks of
 *    `decode_head.linear_fuse.conv.weight` are reversed too.
 *
 * mmseg ≥ 0.20's `SegformerHead` (`decode_head.convs.{i}`, `fusion_conv`, `conv_seg`) cannot be
 * renamed into the DAFormer-repo head: each of its per-level projections is a 1×1 conv followed by
 * BatchNorm and ReLU, where the DAFormer repo has a plain Linear. Its keys are left unconverted
 * (they show up as unexpected) and {@linkcode normaliseKeys} adds a note saying why.
 *
 * BatchNorm's `num_batches_tracked` counters are skipped: they only matter with `momentum=None`,
 * which no config here uses.
 *
 * @module
 */
import type { StoredTensor } from "./safetensors.ts";

/** Which naming a checkpoint used, after the prefixes were handled. */
export type CheckpointFormat = "mmseg-0.16" | "nvlabs-segformer" | "mmseg-0.20";

/** How to read a checkpoint's keys. */
export interface KeyOptions {
  /** Prefixes removed first (default `["module."]`). */
  stripPrefixes?: readonly string[];
  /** Which network of a UDA checkpoint to take: `model` (default), `ema_model` or `imnet_model`. */
  submodel?: string;
  /** Extra `[from, to]` prefix renames, applied after the prefixes (first match wins). */
  rename?: readonly (readonly [string, string])[];
  /** Keep only encoder keys, prepending `backbone.` where missing (ImageNet MiT checkpoints). */
  backboneOnly?: boolean;
}

/** The outcome of {@linkcode normaliseKeys}. */
export interface NormalisedKeys {
  /** Tensors under our names (converted where the source naming needed it). */
  tensors: Map<string, StoredTensor>;
  /** Source keys deliberately not loaded, with the reason. */
  ignored: string[];
  /** The naming the checkpoint used. */
  format: CheckpointFormat;
  /** Explanations to show with a load report (for example why some keys cannot be loaded). */
  notes: string[];
}

/** The networks a DAFormer/HRDA/MIC UDA checkpoint holds (`uda/dacs.py`). */
export const UDA_SUBMODELS: readonly string[] = ["model", "ema_model", "imnet_model"];

const NVLABS_LEVEL = /^decode_head\.linear_c([1-4])\./;
const MMSEG_020_ENCODER = /^backbone\.layers\.(\d+)\.([012])\.(.*)$/;
const MMSEG_020_HEAD = /^decode_head\.(convs\.\d+|fusion_conv|conv_seg)\./;

/** Renames and converts the keys of a checkpoint; see the module documentation for the rules. */
export function normaliseKeys(
  source: Iterable<[string, StoredTensor]>,
  options: KeyOptions = {},
): NormalisedKeys {
  const {
    stripPrefixes = ["module."],
    submodel = "model",
    rename = [],
    backboneOnly = false,
  } = options;
  const ignored: string[] = [];
  const notes: string[] = [];
  let entries: [string, StoredTensor][] = [];
  for (const [rawKey, tensor] of source) {
    if (rawKey.endsWith(".num_batches_tracked")) {
      ignored.push(`${rawKey} (BatchNorm counter)`);
      continue;
    }
    let key = rawKey;
    for (const prefix of stripPrefixes) if (key.startsWith(prefix)) key = key.slice(prefix.length);
    entries.push([key, tensor]);
  }

  const isUda = entries.some(([k]) => UDA_SUBMODELS.some((s) => k.startsWith(`${s}.`)));
  if (isUda) {
    const kept: [string, StoredTensor][] = [];
    for (const [key, tensor] of entries) {
      const owner = UDA_SUBMODELS.find((s) => key.startsWith(`${s}.`));
      if (owner === submodel) kept.push([key.slice(submodel.length + 1), tensor]);
      else if (owner !== undefined) ignored.push(`${key} (UDA network '${owner}')`);
      else kept.push([key, tensor]);
    }
    if (kept.length === 0) {
      notes.push(
        `The checkpoint is a UDA checkpoint without a '${submodel}.' network; choose one of ${
          UDA_SUBMODELS.join(", ")
        }.`,
      );
    }
    entries = kept;
  }

  entries = entries.map(([key, tensor]) => {
    const pair = rename.find(([from]) => key.startsWith(from));
    return [pair ? pair[1] + key.slice(pair[0].length) : key, tensor];
  });

  if (backboneOnly) {
    const kept: [string, StoredTensor][] = [];
    for (const [key, tensor] of entries) {
      if (/^(head|decode_head|auxiliary_head)\./.test(key)) {
        ignored.push(`${key} (not part of the encoder)`);
      } else kept.push([key.startsWith("backbone.") ? key : `backbone.${key}`, tensor]);
    }
    entries = kept;
  }

  let format: CheckpointFormat = "mmseg-0.16";
  if (entries.some(([k]) => MMSEG_020_ENCODER.test(k) || MMSEG_020_HEAD.test(k))) {
    format = "mmseg-0.20";
    entries = entries.flatMap(([key, tensor]) => convertMmseg020(key, tensor));
    if (entries.some(([k]) => MMSEG_020_HEAD.test(k))) {
      notes.push(
        "decode_head.convs.*, fusion_conv and conv_seg come from mmseg ≥ 0.20's SegformerHead, " +
          "whose per-level projections are 1×1 conv + BatchNorm + ReLU where the DAFormer-repo " +
          "head has a plain Linear; they cannot be renamed into this network. Load the encoder " +
          "alone (backboneOnly) and train the head.",
      );
    }
  } else if (entries.some(([k]) => NVLABS_LEVEL.test(k))) {
    format = "nvlabs-segformer";
    entries = entries.map(([key, tensor]) => {
      if (key === "decode_head.linear_fuse.conv.weight") {
        return [key, reverseInputBlocks(tensor, 4)];
      }
      return [
        key.replace(NVLABS_LEVEL, (_, l) => `decode_head.linear_c.${Number(l) - 1}.`),
        tensor,
      ];
    });
  }

  const tensors = new Map<string, StoredTensor>();
  for (const [key, tensor] of entries) {
    if (tensors.has(key)) {
      notes.push(`Two source tensors map to '${key}'; the later one was kept.`);
    }
    tensors.set(key, tensor);
  }
  return { tensors, ignored, format, notes };
}

/** One mmseg ≥ 0.20 key (with `backbone.`) → the DAFormer-repo key(s); other keys pass through. */
function convertMmseg020(key: string, tensor: StoredTensor): [string, StoredTensor][] {
  const match = MMSEG_020_ENCODER.exec(key);
  if (match === null) return [[key, tensor]];
  const stage = Number(match[1]) + 1;
  const part = match[2];
  const rest = match[3];
  if (part === "0") {
    return [[`backbone.patch_embed${stage}.${rest.replace(/^projection\./, "proj.")}`, tensor]];
  }
  if (part === "2") return [[`backbone.norm${stage}.${rest}`, tensor]];
  const block = /^(\d+)\.(.*)$/.exec(rest);
  if (block === null) return [[key, tensor]];
  const prefix = `backbone.block${stage}.${block[1]}.`;
  const inner = block[2];
  const fused = /^attn\.attn\.in_proj_(weight|bias)$/.exec(inner);
  if (fused !== null) {
    // mit2mmseg: in_proj = cat([q, kv], dim 0) with q C rows and kv 2C rows.
    const rows = tensor.shape[0];
    if (rows % 3 !== 0) return [[key, tensor]];
    const c = rows / 3;
    const rowSize = tensor.data.length / rows;
    const q = {
      ...tensor,
      shape: [c, ...tensor.shape.slice(1)],
      data: tensor.data.slice(0, c * rowSize),
    };
    const kv = {
      ...tensor,
      shape: [2 * c, ...tensor.shape.slice(1)],
      data: tensor.data.slice(c * rowSize),
    };
    return [[`${prefix}attn.q.${fused[1]}`, q], [`${prefix}attn.kv.${fused[1]}`, kv]];
  }
  const renames: [RegExp, string][] = [
    [/^attn\.attn\.out_proj\./, "attn.proj."],
    [/^ffn\.layers\.0\./, "mlp.fc1."],
    [/^ffn\.layers\.1\./, "mlp.dwconv.dwconv."],
    [/^ffn\.layers\.4\./, "mlp.fc2."],
  ];
  for (const [pattern, replacement] of renames) {
    if (pattern.test(inner)) {
      const name = inner.replace(pattern, replacement);
      // fc1/fc2 are 1×1 convolutions in mmseg ≥ 0.20: [o, i, 1, 1] → Linear [o, i].
      const squeeze = /^mlp\.fc[12]\.weight$/.test(name) && tensor.shape.length === 4;
      return [[prefix + name, squeeze ? { ...tensor, shape: tensor.shape.slice(0, 2) } : tensor]];
    }
  }
  return [[prefix + inner, tensor]];
}

/** Reverses the order of `blocks` equal blocks along dim 1 of a `[out, in, …]` torch tensor. */
function reverseInputBlocks(tensor: StoredTensor, blocks: number): StoredTensor {
  const [out, inChannels] = tensor.shape;
  if (tensor.shape.length < 2 || inChannels % blocks !== 0) return tensor;
  const inner = tensor.data.length / (out * inChannels); // kh·kw
  const blockSize = (inChannels / blocks) * inner;
  const data = tensor.data.slice();
  for (let o = 0; o < out; o++) {
    const row = o * inChannels * inner;
    for (let b = 0; b < blocks; b++) {
      const from = row + (blocks - 1 - b) * blockSize;
      data.set(tensor.data.subarray(from, from + blockSize), row + b * blockSize);
    }
  }
  return { ...tensor, data };
}
