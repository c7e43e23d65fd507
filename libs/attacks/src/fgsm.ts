import * as tf from '@tensorflow/tfjs';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { finishAttack } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { ascentDirection } from './perturbation-ops';
import { softmaxCrossEntropy } from './softmax-cross-entropy';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export interface FgsmOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true class ids; the attack is untargeted (it increases their loss). */
  labels: tf.Tensor1D;
  /** Budget in `norm`, in input space [0,1]. */
  epsilon: number;
  /** 'linf' (default): FGSM, x + ε·sign(∇). 'l2': FGM, x + ε·∇/‖∇‖₂. */
  norm?: PerturbationNorm;
}

/**
 * One FGSM step (Goodfellow et al., 2015): x' = clip(x + ε·sign(∇x CE), 0, 1), nothing else.
 * This is the hot path adversarial training calls once per batch; `fgsm` adds the
 * per-example verification an evaluation needs.
 */
export function craftFgsm({ model, inputs, labels, epsilon, norm = 'linf' }: FgsmOptions): tf.Tensor {
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  return tf.tidy(() => {
    // Summed, not averaged: each example's gradient then does not depend on the batch size,
    // so tiny gradients of large batches cannot underflow to a zero sign.
    const loss = (x: tf.Tensor) => tf.sum(softmaxCrossEntropy({ logits: model(x), labels }));
    const gradient = tf.grad(loss)(inputs);
    return tf.clipByValue(tf.add(inputs, tf.mul(ascentDirection(gradient, norm), epsilon)), 0, 1);
  });
}

/** Untargeted FGSM (or L2 FGM) with the result re-verified per example. */
export async function fgsm(options: FgsmOptions): Promise<AttackResult> {
  const adversarial = craftFgsm(options);
  return finishAttack({ ...options, norm: options.norm ?? 'linf', adversarial });
}
