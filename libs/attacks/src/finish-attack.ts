import * as tf from '@tensorflow/tfjs';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { predictLabels, type LogitsModel } from './logits-model';
import { readAndDispose } from './read-tensors';
import { checkPerturbation } from './verify-perturbation';

export interface FinishAttackOptions {
  model: LogitsModel;
  inputs: tf.Tensor;
  /** True classes. */
  labels: tf.Tensor1D;
  /** The crafted inputs; ownership passes to the result (disposed here on error). */
  adversarial: tf.Tensor;
  /** Budget in `norm`; Infinity for minimum-norm attacks (only the [0,1] box is enforced). */
  epsilon: number;
  norm: PerturbationNorm;
  /** For a targeted attack, success means predicting these classes. */
  targets?: tf.Tensor1D;
}

/**
 * Turns crafted inputs into an AttackResult: re-measures the perturbation, re-runs the
 * model, and counts a success only for a valid example the model gets wrong (or, targeted,
 * classifies as the target). No attack reports success any other way.
 */
export async function finishAttack({ model, inputs, labels, adversarial, epsilon, norm, targets }: FinishAttackOptions): Promise<AttackResult> {
  try {
    const { valid, linfNorms, l2Norms } = await checkPerturbation({ inputs, adversarial, epsilon, norm });
    const hit = await readAndDispose(
      tf.tidy(() => {
        const predicted = predictLabels({ model, inputs: adversarial });
        return targets === undefined ? tf.notEqual(predicted, labels) : tf.equal(predicted, targets);
      }),
    );
    // An example outside the threat model is never a success, however wrong the model is on it.
    const success = valid.map((isValid, i) => isValid && hit[i] === 1);
    return { adversarial, success, linfNorms, l2Norms };
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
}

/** Per example: untargeted, the prediction differs from the label; targeted, it is the target. */
export function hits(logits: tf.Tensor2D, labels: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const predicted = tf.argMax(logits, 1);
    return targets === undefined ? tf.notEqual(predicted, labels) : tf.equal(predicted, targets);
  });
}

export function assertSteps(steps: number, name = 'steps'): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`${name} must be a positive integer, got ${steps}`);
  }
}
