import * as tf from '@tensorflow/tfjs';

/**
 * Adam keeps β1^t and β2^t in two private variables. Its own setWeights recomputes them
 * with pow(), which can differ in the last bit from the running product a live optimizer
 * holds, so a bit-exact resume has to carry them explicitly.
 */
interface AdamPowers {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

export function adamPowers(optimizer: tf.Optimizer): AdamPowers | undefined {
  const candidate = optimizer as unknown as Partial<AdamPowers>;
  return candidate.accBeta1 instanceof tf.Variable && candidate.accBeta2 instanceof tf.Variable
    ? { accBeta1: candidate.accBeta1, accBeta2: candidate.accBeta2 }
    : undefined;
}

export const ADAM_POWER_NAMES = ['accBeta1', 'accBeta2'] as const;
