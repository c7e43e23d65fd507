import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { applyModel } from '@bulwark/models';
import type { Rng } from '@bulwark/data';

/** What a method trains and with what; fixed for the whole run. */
export interface TrainingContext {
  model: tf.LayersModel;
  /** Absent where a method only computes gradients (a data-parallel shard): its `step` then throws. */
  optimizer?: tf.Optimizer;
  /** The model's trainable variables, in the order the optimizer keeps its state. */
  variables: tf.Variable[];
  /**
   * The run's generator. Every random start draws its tf seed from it (never Math.random),
   * so the RNG state in a checkpoint covers all of a run's randomness.
   */
  rng: Rng;
}

export interface MinibatchStep {
  /** float32 in [0,1], [B, H, W, C]. */
  x: tf.Tensor4D;
  /** int32 class ids, [B]. */
  y: tf.Tensor1D;
  /** Training ε for this minibatch, after any warm-up (0 for methods without a threat model). */
  epsilon: number;
}

/**
 * One training objective (clean, an adversarial-training method, distillation) as the
 * training loop sees it: the loop owns batching, learning rates, checkpoints and evaluation;
 * the method owns what happens to one minibatch.
 */
export interface TrainingMethod {
  /** Optimizer steps per minibatch: m for free adversarial training, 1 otherwise. */
  readonly replays: number;
  /** One optimizer step on the minibatch; returns the loss it minimised (a scalar the caller disposes). */
  step(batch: MinibatchStep): tf.Scalar;
  /**
   * The adversarial batch a step would train on at the current weights, drawing from the RNG
   * as a step does (methods that craft one per minibatch: fgsm, fgsm-rs, pgd, trades).
   */
  craft?(batch: MinibatchStep): tf.Tensor;
  /**
   * The gradient of the loss `step` would minimise, without applying it: what a data-parallel
   * shard computes. Absent for methods whose state spans steps (free training's δ).
   */
  gradients?(batch: MinibatchStep): ShardGradients;
  /** Drops whatever does not outlive an epoch (free training's δ); also called when a run stops early. */
  endEpoch(): void;
}

/** A loss and its gradient per trainable variable (keyed by variable name); the caller disposes both. */
// A type, not an interface, so that tf.tidy accepts it as a tensor container.
export type ShardGradients = {
  loss: tf.Scalar;
  grads: tf.NamedTensorMap;
};

/** One optimizer step on the mean of `loss`, returning its value. */
export function minimizeLoss({ optimizer, variables }: TrainingContext, loss: () => tf.Scalar): tf.Scalar {
  if (!optimizer) throw new Error('this training context computes gradients only: it has no optimizer');
  const cost = optimizer.minimize(loss, true, variables);
  if (cost === null) {
    throw new Error('optimizer.minimize returned no loss');
  }
  return cost;
}

/** The loss and gradients `minimizeLoss` would apply (tf's minimize is exactly variableGrads then applyGradients). */
export function lossGradients({ variables }: TrainingContext, loss: () => tf.Scalar): ShardGradients {
  const { value, grads } = tf.variableGrads(loss, variables);
  return { loss: value, grads };
}

/** Plain mini-batch training on mean cross-entropy. */
export function cleanTraining(context: TrainingContext): TrainingMethod {
  const loss = ({ x, y }: MinibatchStep) => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(context.model, x, true), labels: y }));
  return {
    replays: 1,
    step: (batch) => tf.tidy(() => minimizeLoss(context, () => loss(batch))),
    gradients: (batch) => tf.tidy(() => lossGradients(context, () => loss(batch))),
    endEpoch: () => undefined,
  };
}

/**
 * mean_i [(1 − w)·CE(f(xᵢ), yᵢ) + w·CE(f(x'ᵢ), yᵢ)], clean and adversarial rows through the
 * model as one batch. Written as the mean over the 2B rows with row weights 2(1 − w) and 2w,
 * which at w = 0.5 are exactly 1: the original FGSM training's loss, bit for bit.
 */
export function mixedAdversarialLoss(context: TrainingContext, x: tf.Tensor4D, xAdv: tf.Tensor, y: tf.Tensor1D, adversarialWeight: number): tf.Scalar {
  return tf.tidy(() => {
    if (adversarialWeight === 1) {
      return tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(context.model, xAdv, true), labels: y }));
    }
    const rows = x.shape[0];
    const ce = softmaxCrossEntropy({ logits: applyModel(context.model, tf.concat([x, xAdv]), true), labels: tf.concat([y, y]) });
    const weights = tf.concat([tf.fill([rows], 2 * (1 - adversarialWeight)), tf.fill([rows], 2 * adversarialWeight)]);
    return tf.mean<tf.Scalar>(tf.mul(ce, weights));
  });
}

/**
 * The method shape FGSM, PGD and TRADES training share: craft each minibatch's adversarial
 * examples against the current weights, then one optimizer step on `loss` of the minibatch and
 * those examples (by default the clean/adversarial mix at `adversarialWeight`).
 */
export function craftThenTrain(
  context: TrainingContext,
  craft: (batch: MinibatchStep) => tf.Tensor,
  loss: number | ((batch: MinibatchStep, xAdv: tf.Tensor) => tf.Scalar),
): TrainingMethod {
  const lossOf = typeof loss === 'number' ? (batch: MinibatchStep, xAdv: tf.Tensor) => mixedAdversarialLoss(context, batch.x, xAdv, batch.y, loss) : loss;
  return {
    replays: 1,
    craft,
    step: (batch) =>
      tf.tidy(() => {
        const xAdv = craft(batch);
        return minimizeLoss(context, () => lossOf(batch, xAdv));
      }),
    gradients: (batch) =>
      tf.tidy(() => {
        const xAdv = craft(batch);
        return lossGradients(context, () => lossOf(batch, xAdv));
      }),
    endEpoch: () => undefined,
  };
}

/** A step size given at full ε, scaled to the warmed ε of this minibatch. */
export function warmedStepSize(stepSize: number, fullEpsilon: number, epsilon: number): number {
  return fullEpsilon === 0 ? stepSize : (stepSize * epsilon) / fullEpsilon;
}
