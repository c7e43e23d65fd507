import type * as tf from '@tensorflow/tfjs';

/** Threat models the attacks and the validity checks understand. */
export type PerturbationNorm = 'linf' | 'l2';

export interface AttackResult {
  /** Same shape as the inputs; the caller owns it and disposes it. */
  adversarial: tf.Tensor;
  /**
   * Per example: the model misclassifies the adversarial input (or, for a targeted attack,
   * predicts the target) AND the perturbation is inside the threat model.
   */
  success: boolean[];
  /** Per example ‖x' − x‖∞, as measured after crafting (not as intended). */
  linfNorms: Float32Array;
  /** Per example ‖x' − x‖₂, as measured after crafting. */
  l2Norms: Float32Array;
}
