/**
 * `experiments/pretrain.ts` for MiT-B0 instead of MiT-nano: the encoder the benchmark's
 * model-size point starts from (`sweeps/benchmark_learnability.ts`, row `model_b0`).
 */
import { extend } from "../dsl/mod.ts";
import pretrain from "./pretrain.ts";

export default extend(pretrain, { model: { encoder: { variant: "b0" } } });
