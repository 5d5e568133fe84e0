/**
 * Writes SynthCity images in the real datasets' on-disk formats, so the real readers read them:
 * `game` as GTA5 (`images/`, indexed `labels/` of Cityscapes ids), `real` as Cityscapes
 * (`leftImg8bit/`, `gtFine/` labelIds and labelTrainIds), `synthia` as SYNTHIA-RAND-CITYSCAPES
 * (`RGB/`, 16-bit `GT/LABELS/` with the class id in the first channel).
 *
 * @module
 */
import { join } from "node:path";
import { writePng } from "../png.ts";
import {
  CITYSCAPES_ID_TO_TRAIN_ID,
  IGNORE_LABEL,
  inverseMapping,
  PALETTE,
  SYNTHIA_ID_TO_TRAIN_ID,
} from "../labels.ts";
import { type Domain, generateScene } from "./mod.ts";

const TO_CITYSCAPES_ID = inverseMapping(CITYSCAPES_ID_TO_TRAIN_ID);
const TO_SYNTHIA_ID = inverseMapping(SYNTHIA_ID_TO_TRAIN_ID);

/** Label ids of a trainId map under an inverse mapping (ignored pixels → id 0, "unlabeled"). */
function toIds(label: Uint8Array, inverse: Map<number, number>): Uint8Array {
  return label.map((v) => (v === IGNORE_LABEL ? 0 : inverse.get(v) ?? 0));
}

/** The GTA5 palette for indexed label files: Cityscapes colours at the ids of train classes. */
function gtaPalette(): number[][] {
  const palette = Array.from({ length: 256 }, () => [0, 0, 0]);
  for (const [id, trainId] of Object.entries(CITYSCAPES_ID_TO_TRAIN_ID)) {
    palette[Number(id)] = [...PALETTE[trainId]];
  }
  return palette;
}

/** Writes `count` images of `domain` under `out`; returns the image files written. */
export async function writeSynthCity(
  out: string,
  domain: Domain,
  count: number,
  seed = 0,
  split = "train",
): Promise<string[]> {
  const written: string[] = [];
  const city = `synthcity${seed}`;
  for (let index = 0; index < count; index++) {
    const { image, label, width, height } = generateScene({ domain, seed, index });
    const rgb = { width, height, channels: 3, depth: 8 as const, data: image };
    if (domain === "game") {
      const name = `${String(index + 1).padStart(5, "0")}.png`;
      await Deno.mkdir(join(out, "images"), { recursive: true });
      await Deno.mkdir(join(out, "labels"), { recursive: true });
      await writePng(join(out, "images", name), rgb);
      await writePng(join(out, "labels", name), {
        width,
        height,
        channels: 1,
        depth: 8,
        data: toIds(label, TO_CITYSCAPES_ID),
        palette: gtaPalette(),
      });
      written.push(join(out, "images", name));
    } else if (domain === "real") {
      const stem = `${city}_${String(Math.floor(index / 30)).padStart(6, "0")}_${
        String(index % 30).padStart(6, "0")
      }`;
      const imageDir = join(out, "leftImg8bit", split, city);
      const labelDir = join(out, "gtFine", split, city);
      await Deno.mkdir(imageDir, { recursive: true });
      await Deno.mkdir(labelDir, { recursive: true });
      await writePng(join(imageDir, `${stem}_leftImg8bit.png`), rgb);
      await writePng(join(labelDir, `${stem}_gtFine_labelIds.png`), {
        width,
        height,
        channels: 1,
        depth: 8,
        data: toIds(label, TO_CITYSCAPES_ID),
      });
      await writePng(join(labelDir, `${stem}_gtFine_labelTrainIds.png`), {
        width,
        height,
        channels: 1,
        depth: 8,
        data: label,
      });
      written.push(join(imageDir, `${stem}_leftImg8bit.png`));
    } else {
      const name = `${String(index).padStart(7, "0")}.png`;
      await Deno.mkdir(join(out, "RGB"), { recursive: true });
      await Deno.mkdir(join(out, "GT", "LABELS"), { recursive: true });
      await writePng(join(out, "RGB", name), rgb);
      const ids = toIds(label, TO_SYNTHIA_ID);
      const data = new Uint16Array(width * height * 3);
      for (let i = 0; i < ids.length; i++) data[3 * i] = ids[i]; // class id in R; instance (G) 0
      await writePng(join(out, "GT", "LABELS", name), {
        width,
        height,
        channels: 3,
        depth: 16,
        data,
      });
      written.push(join(out, "RGB", name));
    }
  }
  return written;
}
