/**
 * The single place UDA-Lab imports TensorFlow.js from.
 *
 * Importing the union package once registers every gradient and the chained tensor methods
 * (`tfjs-core` alone registers neither under Deno; see `shared/reference/tfjs_in_deno.md` §A.2).
 * Every other module imports `tf` from here, so exactly one tfjs-core engine exists per process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

export { tf };

/** A tensor of any rank, re-exported so modules need not import tfjs themselves. */
export type Tensor = tf.Tensor;
/** Rank-4 tensor: NHWC activations or HWIO filters. */
export type Tensor4D = tf.Tensor4D;
