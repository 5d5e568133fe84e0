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

// Under Deno, tfjs believes it runs in Node.js and would print an "install tfjs-node" banner on
// first use of the cpu backend; that package cannot be installed here (see docs/backends.md).
// PROD mode silences tfjs's console warnings; it changes no numerics.
tf.env().set("PROD", true);

export { tf };

/** A tensor of any rank, re-exported so modules need not import tfjs themselves. */
export type Tensor = tf.Tensor;
/** Rank-4 tensor: NHWC activations or HWIO filters. */
export type Tensor4D = tf.Tensor4D;
