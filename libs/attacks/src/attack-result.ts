import type * as tf from '@tensorflow/tfjs';

/** Threat models the validity checks understand. */
export type PerturbationNorm = 'linf';

export interface AttackResult {
  /** Same shape as the inputs; the caller owns it and disposes it. */
  adversarial: tf.Tensor;
  /** Per example: the model misclassifies the adversarial input AND the perturbation is valid. */
  success: boolean[];
  /** Per example ‖x' − x‖∞, as measured after crafting (not as intended). */
  linfNorms: Float32Array;
}
