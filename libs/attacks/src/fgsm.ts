import * as tf from '@tensorflow/tfjs';
import type { AttackResult } from './attack-result';
import { assertLabelsMatch, predictLabels, type LogitsModel } from './logits-model';
import { softmaxCrossEntropy } from './softmax-cross-entropy';
import { assertEpsilon, checkPerturbation } from './verify-perturbation';

export interface FgsmOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true class ids; the attack is untargeted (it increases their loss). */
  labels: tf.Tensor1D;
  /** L∞ budget, in input space [0,1]. */
  epsilon: number;
}

/**
 * One FGSM step (Goodfellow et al., 2015): x' = clip(x + ε·sign(∇x CE), 0, 1), nothing else.
 * This is the hot path adversarial training calls once per batch; `fgsm` adds the
 * per-example verification an evaluation needs.
 */
export function craftFgsm({ model, inputs, labels, epsilon }: FgsmOptions): tf.Tensor {
  assertEpsilon(epsilon);
  assertLabelsMatch(inputs, labels);
  return tf.tidy(() => {
    // Summed, not averaged: each example's gradient then does not depend on the batch size,
    // so tiny gradients of large batches cannot underflow to a zero sign.
    const loss = (x: tf.Tensor) => tf.sum(softmaxCrossEntropy({ logits: model(x), labels }));
    const gradient = tf.grad(loss)(inputs);
    return tf.clipByValue(tf.add(inputs, tf.mul(tf.sign(gradient), epsilon)), 0, 1);
  });
}

/** Untargeted L∞ FGSM with the result re-verified per example. */
export function fgsm(options: FgsmOptions): AttackResult {
  const adversarial = craftFgsm(options);
  try {
    const { valid, linfNorms } = checkPerturbation({
      inputs: options.inputs,
      adversarial,
      epsilon: options.epsilon,
      norm: 'linf',
    });
    const wrongTensor = tf.tidy(() => tf.notEqual(predictLabels({ model: options.model, inputs: adversarial }), options.labels));
    const wrong = wrongTensor.dataSync();
    wrongTensor.dispose();
    // An example outside the threat model is never a success, however wrong the model is on it.
    const success = valid.map((isValid, i) => isValid && wrong[i] === 1);
    return { adversarial, success, linfNorms };
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
}
