/**
 * Source-only SYNTHIA-Seq → Cityscapes-Seq at paper scale, the floor of the video table:
 * `experiments/source_only.ts` trained on SYNTHIA-SEQS-04-DAWN (the sequence DA-VSN, TPS and
 * UnifiedVideoDA use) and evaluated per frame on Cityscapes-Seq's labelled val frames under the
 * 11-class protocol (road, sidewalk, building, pole, light, sign, vegetation, sky, person, rider,
 * car; `docs/pipapp.md`), with the paper-scale source-only recipe of
 * `experiments/viper2csseq/source_only.ts` (`paperSourceOnly`: DAFormer's, less self-training).
 *
 * Published: the video-UDA tables' Source-only row is 38.3 mIoU on these 11 classes
 * (`shared/reference/pipa_cluda.md` §4, the UDASS README); that row comes from the DA-VSN-era
 * baselines, not from MiT-B5, so it places this run rather than being its target.
 *
 * Data (layouts in `runtime/data/video/synthia_seq.ts` and `docs/pipapp.md`):
 * SYNTHIA-SEQS-04-DAWN under `data/SYNTHIA-SEQS-04-DAWN` (`RGB/Stereo_Left/Omni_F`, 16-bit
 * `GT/LABELS/Stereo_Left/Omni_F`; frame t paired with t−1, as DA-VSN; its ids mapped by
 * `runtime/data/video/synthia_seq_labels.ts`), Cityscapes-Seq unpacked into `data/cityscapes`,
 * and the official `mit_b5` weights converted to safetensors (`docs/weights.md`). `deno task show`
 * and `plan` need none of them.
 *
 * @module
 */
import { cityscapesSeq, type ExperimentPatch, extend, synthiaSeq } from "../../dsl/mod.ts";
import sourceOnly from "../source_only.ts";
import { paperSourceOnly } from "../viper2csseq/source_only.ts";

/**
 * SYNTHIA-Seq → Cityscapes-Seq's data: SYNTHIA-SEQS-04-DAWN frames paired with the previous one
 * (offset 1, as DA-VSN), at their native 1280×760 (UnifiedVideoDA's `Resize(1280, 760)`) with 512²
 * crops and the ratio check 0.75; Cityscapes-Seq as in VIPER → Cityscapes-Seq; the 11-class
 * protocol.
 */
export const synthiaSeqToCityscapesSeq: ExperimentPatch = {
  data: {
    source: synthiaSeq({ root: "data/SYNTHIA-SEQS-04-DAWN", crop: [512, 512] }),
    target: cityscapesSeq({ root: "data/cityscapes", split: "train", crop: [512, 512] }),
    targetVal: cityscapesSeq({ root: "data/cityscapes", split: "val" }),
  },
  evaluation: { protocol: "11" },
};

export default extend(extend(sourceOnly, paperSourceOnly), synthiaSeqToCityscapesSeq);
