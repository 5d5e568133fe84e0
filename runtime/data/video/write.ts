/**
 * Writes SynthCity sequences in the video datasets' on-disk layouts, so the readers of
 * `readers.ts` read them: Cityscapes-Seq (`leftImg8bit_sequence/`, with the `gtFine`
 * `labelTrainIds` of each snippet's 20th frame, index 19, only, as Cityscapes labels it) and VIPER
 * (`SPLIT/img/`, `SPLIT/cls/` of VIPER class ids on every frame), and SYNTHIA-SEQS (one sequence
 * folder each, 16-bit `GT/LABELS` on every frame, `synthia_seq.ts`). With `flow`, the exact flow
 * t → t−k of every pair goes into `.flo` files in the flow-folder layout of `file_pairs.ts`,
 * invalid pixels stored as Middlebury's unknown flow.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { writePng } from "../png.ts";
import { IGNORE_LABEL, inverseMapping, PALETTE } from "../labels.ts";
import { buildScene } from "../synthcity/scene.ts";
import {
  type OpticalFlow,
  renderWithSurfaces,
  sceneFlow,
  type SurfaceFrame,
} from "../synthcity/flow.ts";
import {
  type Domain,
  LATEST_SCENE_VERSION,
  SYNTHCITY_HEIGHT,
  SYNTHCITY_WIDTH,
} from "../synthcity/mod.ts";
import { writeFlo } from "./flo.ts";
import { writeJpeg } from "./image.ts";
import { checkOffset } from "./pairs.ts";
import { SNIPPET_FRAMES } from "./synthcity.ts";
import { TRAIN_ID_TO_VIPER_ID, VIPER_ID_TO_TRAIN_ID } from "./viper_labels.ts";
import { SYNTHIA_SEQ_ID_TO_TRAIN_ID } from "./synthia_seq_labels.ts";
import { SYNTHIA_SEQ_CAMERA } from "./synthia_seq.ts";

/** The frame of each Cityscapes snippet that carries a label (its 20th). */
export const LABELLED_FRAME = 19;

/** What to write. */
export interface SequenceWriteOptions {
  /** Rendering domain. */
  domain: Domain;
  /** Number of sequences (scenes 0..sequences−1). */
  sequences: number;
  /** Frames per sequence (default 30, a Cityscapes snippet). */
  frames?: number;
  /** Dataset seed (default 0). */
  seed?: number;
  /** Split folder (default `train`). */
  split?: string;
  /** Image width (default 512). */
  width?: number;
  /** Image height (default 256). */
  height?: number;
  /** Scene version (default the latest). */
  version?: number;
  /** Also write the exact flow t → t−offset of every pair into `root`. */
  flow?: { root: string; offset: number };
}

/** The files written. */
export interface WrittenSequences {
  /** Frame images. */
  images: string[];
  /** Label files. */
  labels: string[];
  /** `.flo` files. */
  flows: string[];
}

/** What to do with each rendered frame and each pair's flow. */
interface Visitor {
  /** Called for every frame, in order. */
  frame(sequence: number, frame: SurfaceFrame): Promise<void>;
  /** Called with the flow from frame t to frame t−k once both are rendered; `root` its folder. */
  flow(sequence: number, t: number, flow: OpticalFlow, root: string): Promise<void>;
}

/** Renders each sequence frame by frame, and the flow of every pair once both frames exist. */
async function eachFrame(options: SequenceWriteOptions, visit: Visitor): Promise<void> {
  const frames = options.frames ?? SNIPPET_FRAMES;
  const offset = options.flow === undefined ? 0 : checkOffset(options.flow.offset, "flow");
  const flowRoot = options.flow?.root ?? "";
  if (!(Number.isInteger(options.sequences) && options.sequences > 0 && frames > 0)) {
    throw new RangeError(
      `writing sequences: sequences and frames must be positive, got ${options.sequences} and ${frames}.`,
    );
  }
  const width = options.width ?? SYNTHCITY_WIDTH;
  const height = options.height ?? SYNTHCITY_HEIGHT;
  const distance = Math.abs(offset);
  for (let s = 0; s < options.sequences; s++) {
    const version = options.version ?? LATEST_SCENE_VERSION;
    const scene = buildScene(options.domain, options.seed ?? 0, s, version);
    const recent: SurfaceFrame[] = []; // the last |k| frames, for the flow
    for (let t = 0; t < frames; t++) {
      const frame = renderWithSurfaces(scene, t, width, height);
      await visit.frame(s, frame);
      if (distance === 0) continue;
      if (recent.length === distance) {
        // k > 0: this frame pairs with the oldest kept one; k < 0: the oldest pairs with this.
        const [current, other] = offset > 0 ? [frame, recent[0]] : [recent[0], frame];
        await visit.flow(s, current.frame, sceneFlow(scene, current, other), flowRoot);
        recent.shift();
      }
      recent.push(frame);
    }
  }
}

async function writeFlowFile(path: string, flow: OpticalFlow, written: string[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeFlo(path, flow, flow.valid);
  written.push(path);
}

/**
 * Writes `sequences` SynthCity sequences under `out` in the Cityscapes-Seq layout: city
 * `synthcity<seed>`, sequence s and frame t as `<city>_<s:06d>_<t:06d>`, the label on frame 19.
 */
export async function writeCityscapesSeq(
  out: string,
  options: SequenceWriteOptions,
): Promise<WrittenSequences> {
  const frames = options.frames ?? SNIPPET_FRAMES;
  if (frames <= LABELLED_FRAME) {
    throw new RangeError(
      `Cityscapes-Seq: snippets are labelled on frame ${LABELLED_FRAME}; write at least ` +
        `${LABELLED_FRAME + 1} frames per sequence (got ${frames}).`,
    );
  }
  const split = options.split ?? "train";
  const city = `synthcity${options.seed ?? 0}`;
  const imageDir = join(out, "leftImg8bit_sequence", split, city);
  const labelDir = join(out, "gtFine", split, city);
  await Deno.mkdir(imageDir, { recursive: true });
  await Deno.mkdir(labelDir, { recursive: true });
  const written: WrittenSequences = { images: [], labels: [], flows: [] };
  const stem = (s: number, t: number) =>
    `${city}_${String(s).padStart(6, "0")}_${String(t).padStart(6, "0")}`;
  await eachFrame(options, {
    async frame(s, frame) {
      const { width, height } = frame;
      const image = join(imageDir, `${stem(s, frame.frame)}_leftImg8bit.png`);
      await writePng(image, { width, height, channels: 3, depth: 8, data: frame.image });
      written.images.push(image);
      if (frame.frame !== LABELLED_FRAME) return;
      const label = join(labelDir, `${stem(s, frame.frame)}_gtFine_labelTrainIds.png`);
      await writePng(label, { width, height, channels: 1, depth: 8, data: frame.label });
      written.labels.push(label);
    },
    async flow(s, t, flow, root) {
      const path = join(root, city, `${stem(s, t)}_leftImg8bit.flo`);
      await writeFlowFile(path, flow, written.flows);
    },
  });
  return written;
}

/** The palette of written VIPER labels: Cityscapes colours at the ids of train classes. */
function viperPalette(): number[][] {
  const palette = Array.from({ length: 256 }, () => [0, 0, 0]);
  for (const [id, trainId] of Object.entries(VIPER_ID_TO_TRAIN_ID)) {
    palette[Number(id)] = [...PALETTE[trainId]];
  }
  return palette;
}

/** Options of {@linkcode writeViperSeq}. */
export interface ViperWriteOptions extends SequenceWriteOptions {
  /** Image format: `jpg` (default, as VIPER ships) or `png` (lossless). */
  format?: "jpg" | "png";
  /** JPEG quality 1–100 (default 95). */
  quality?: number;
}

/**
 * Writes `sequences` SynthCity sequences under `out` in the VIPER layout: sequence s as
 * `<s + 1:03d>` (VIPER numbers from 001), frame t as `<seq>_<t:05d>`, a `cls` label on every
 * frame holding VIPER ids (wall, pole and rider, which VIPER lacks, as 0 `unlabeled`).
 */
export async function writeViperSeq(
  out: string,
  options: ViperWriteOptions,
): Promise<WrittenSequences> {
  const split = options.split ?? "train";
  const format = options.format ?? "jpg";
  const palette = viperPalette();
  const written: WrittenSequences = { images: [], labels: [], flows: [] };
  const seq = (s: number) => String(s + 1).padStart(3, "0");
  const stem = (s: number, t: number) => `${seq(s)}_${String(t).padStart(5, "0")}`;
  await eachFrame(options, {
    async frame(s, frame) {
      const { width, height } = frame;
      const imageDir = join(out, split, "img", seq(s));
      const labelDir = join(out, split, "cls", seq(s));
      await Deno.mkdir(imageDir, { recursive: true });
      await Deno.mkdir(labelDir, { recursive: true });
      const image = join(imageDir, `${stem(s, frame.frame)}.${format}`);
      if (format === "jpg") await writeJpeg(image, frame.image, width, height, options.quality);
      else await writePng(image, { width, height, channels: 3, depth: 8, data: frame.image });
      written.images.push(image);
      const ids = frame.label.map((v) => v === IGNORE_LABEL ? 0 : TRAIN_ID_TO_VIPER_ID.get(v) ?? 0);
      const label = join(labelDir, `${stem(s, frame.frame)}.png`);
      await writePng(label, { width, height, channels: 1, depth: 8, data: ids, palette });
      written.labels.push(label);
    },
    async flow(s, t, flow, root) {
      const path = join(root, seq(s), `${stem(s, t)}.flo`);
      await writeFlowFile(path, flow, written.flows);
    },
  });
  return written;
}

/** The SYNTHIA-SEQS ids written for trainIds (classes SYNTHIA-SEQS lacks have none). */
const TO_SYNTHIA_SEQ_ID = inverseMapping(SYNTHIA_SEQ_ID_TO_TRAIN_ID);

/**
 * The folder of SynthCity sequence `s` written as SYNTHIA-SEQS,
 * `SYNTHIA-SEQS-<s + 1:02d>-SYNTHCITY`, after the release's `SYNTHIA-SEQS-<sequence>-<condition>`
 * (`SYNTHIA-SEQS-04-DAWN`).
 */
export function synthiaSeqFolder(sequence: number): string {
  return `SYNTHIA-SEQS-${String(sequence + 1).padStart(2, "0")}-SYNTHCITY`;
}

/** The files {@linkcode writeSynthiaSeq} wrote, and the sequence folders. */
export interface WrittenSynthiaSeq extends WrittenSequences {
  /** One root per sequence, `out/<synthiaSeqFolder(s)>`, in order: what `openSynthiaSeq` opens. */
  roots: string[];
  /** With `flow`, each sequence's flow root, `flow.root/<synthiaSeqFolder(s)>`, in order. */
  flowRoots: string[];
}

/**
 * Writes `sequences` SynthCity sequences under `out` in the SYNTHIA-SEQS layout. SYNTHIA-SEQS keeps
 * one sequence per folder, so sequence s goes to `out/<synthiaSeqFolder(s)>` (each one root of
 * `openSynthiaSeq`), frame t as `RGB/Stereo_Left/Omni_F/<t:06d>.png` with the label
 * `GT/LABELS/Stereo_Left/Omni_F/<t:06d>.png`: 16-bit RGB, the SYNTHIA-SEQS class id in the first
 * channel, instance 0 in the second (classes SYNTHIA-SEQS lacks, wall, terrain, truck, bus,
 * train, motorcycle and bicycle, as 0 `void`). With `flow`, sequence s's `.flo` files go to
 * `flow.root/<synthiaSeqFolder(s)>/<t:06d>.flo`, so that folder is its flow root. `split` is not
 * used: SYNTHIA-SEQS has none.
 */
export async function writeSynthiaSeq(
  out: string,
  options: SequenceWriteOptions,
): Promise<WrittenSynthiaSeq> {
  const written: WrittenSynthiaSeq = {
    images: [],
    labels: [],
    flows: [],
    roots: [],
    flowRoots: [],
  };
  const name = (t: number) => String(t).padStart(6, "0");
  await eachFrame(options, {
    async frame(s, frame) {
      const { width, height } = frame;
      const root = join(out, synthiaSeqFolder(s));
      if (written.roots.at(-1) !== root) written.roots.push(root);
      const imageDir = join(root, "RGB", SYNTHIA_SEQ_CAMERA);
      const labelDir = join(root, "GT", "LABELS", SYNTHIA_SEQ_CAMERA);
      await Deno.mkdir(imageDir, { recursive: true });
      await Deno.mkdir(labelDir, { recursive: true });
      const image = join(imageDir, `${name(frame.frame)}.png`);
      await writePng(image, { width, height, channels: 3, depth: 8, data: frame.image });
      written.images.push(image);
      const data = new Uint16Array(width * height * 3);
      frame.label.forEach((v, i) => {
        data[3 * i] = v === IGNORE_LABEL ? 0 : TO_SYNTHIA_SEQ_ID.get(v) ?? 0;
      });
      const label = join(labelDir, `${name(frame.frame)}.png`);
      await writePng(label, { width, height, channels: 3, depth: 16, data });
      written.labels.push(label);
    },
    async flow(s, t, flow, root) {
      const flowRoot = join(root, synthiaSeqFolder(s));
      if (written.flowRoots.at(-1) !== flowRoot) written.flowRoots.push(flowRoot);
      await writeFlowFile(join(flowRoot, `${name(t)}.flo`), flow, written.flows);
    },
  });
  return written;
}
