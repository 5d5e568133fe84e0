/**
 * The mean teacher of DAFormer/DACS (`shared/reference/daformer_hrda_mic.md` §2.1 step 1): at the
 * start of iteration t the teacher's *trainable parameters* become
 * θ_ema ← α_t·θ_ema + (1 − α_t)·θ_student with α_t = min(1 − 1/(t + 1), α), α = 0.999, and at
 * t = 0 a copy of the student's. BatchNorm running statistics (buffers) are neither copied nor
 * averaged: the reference averages `parameters()` only.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { ParamStore } from "../nn/params.ts";
import { fusedEmaUpdateGroup } from "../backend/kernels/ema.ts";

/** α_t = min(1 − 1/(t + 1), α): 0.5 at t = 1, 0.9 at t = 9, 0.99 at t = 99, α from t = 999. */
export function emaAlpha(iteration: number, alpha = 0.999): number {
  if (!(Number.isInteger(iteration) && iteration >= 0)) {
    throw new RangeError(`emaAlpha: the iteration must be an integer ≥ 0, got ${iteration}`);
  }
  return Math.min(1 - 1 / (iteration + 1), alpha);
}

/**
 * Updates `teacher` from `student` for iteration `iteration` (call before the step's forward
 * passes). Both stores must hold the same trainable parameter names and shapes.
 */
export function updateEmaTeacher(
  teacher: ParamStore,
  student: ParamStore,
  iteration: number,
  alpha = 0.999,
): void {
  const a = emaAlpha(iteration, alpha);
  tf.tidy(() => {
    const pairs: { teacher: tf.Variable; student: tf.Variable }[] = [];
    for (const s of student.trainable()) {
      const t = teacher.entry(s.name);
      if (t === undefined || t.variable.shape.join() !== s.variable.shape.join()) {
        throw new Error(
          `EMA teacher: the teacher has no parameter '${s.name}' of shape [${s.variable.shape}]; ` +
            `teacher and student must be built from the same model block.`,
        );
      }
      pairs.push({ teacher: t.variable, student: s.variable });
    }
    // t = 0 copies (α_0 = 0 gives the same value, but an exact copy avoids 0·θ rounding).
    // Otherwise the fused kernel, bit-identical on cpu and wasm to the tfjs chain
    // tf.add(tf.mul(θ_ema, α), tf.mul(θ_student, 1 − α)) (`backend/kernels/ema.ts`), for every
    // parameter in one dispatch.
    if (iteration === 0) { for (const p of pairs) p.teacher.assign(p.student); }
    else fusedEmaUpdateGroup(pairs, a).forEach((out, k) => pairs[k].teacher.assign(out));
  });
}
