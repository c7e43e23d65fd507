import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from './logits-model';
import { softmaxCrossEntropy } from './softmax-cross-entropy';

/** Losses an attack maximises; each maps logits to one value per example. */
export type AttackLoss = 'ce' | 'margin';

/** A per-example objective over logits, maximised by the gradient attacks. */
export type LogitsObjective = (logits: tf.Tensor2D) => tf.Tensor1D;

/** The largest logit over the classes other than `labels` (per example). */
export function largestOtherLogit(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, logits.shape[1]);
    // −∞ would give NaN gradients (0·∞) through the max; a large finite offset does not.
    return tf.max<tf.Tensor1D>(tf.sub(logits, tf.mul(oneHot, 1e9)), 1);
  });
}

export function labelLogit(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.sum<tf.Tensor1D>(tf.mul(logits, tf.oneHot(labels, logits.shape[1])), 1));
}

/**
 * Carlini–Wagner margin: max_{j≠y} z_j − z_y, positive exactly where the example is
 * misclassified. Targeted: z_t − max_{j≠t} z_j, positive exactly where t is predicted.
 */
export function marginObjective(labels: tf.Tensor1D, targeted = false): LogitsObjective {
  return (logits) =>
    tf.tidy(() => {
      const margin = tf.sub(largestOtherLogit(logits, labels), labelLogit(logits, labels));
      return (targeted ? tf.neg(margin) : margin) as tf.Tensor1D;
    });
}

/** Cross-entropy to maximise (untargeted) or its negation towards a target (targeted). */
export function crossEntropyObjective(labels: tf.Tensor1D, targeted = false): LogitsObjective {
  return (logits) =>
    tf.tidy(() => {
      const ce = softmaxCrossEntropy({ logits, labels });
      return targeted ? tf.neg(ce) : ce;
    });
}

export function lossObjective(loss: AttackLoss, labels: tf.Tensor1D, targeted = false): LogitsObjective {
  switch (loss) {
    case 'ce':
      return crossEntropyObjective(labels, targeted);
    case 'margin':
      return marginObjective(labels, targeted);
    default:
      throw new Error(`unknown loss '${String(loss)}' (expected 'ce' or 'margin')`);
  }
}

/**
 * The k largest logits per example, largest first, as [B] tensors that carry gradients
 * (tfjs has no gradient for topk; max and argmax do, so the largest values are peeled off
 * one at a time).
 */
export function largestLogits(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  return tf.tidy(() => {
    const values: tf.Tensor1D[] = [];
    let remaining: tf.Tensor2D = logits;
    for (let i = 0; i < k; i += 1) {
      values.push(tf.max<tf.Tensor1D>(remaining, 1));
      if (i + 1 < k) {
        remaining = tf.sub<tf.Tensor2D>(remaining, tf.mul(tf.oneHot(tf.argMax(remaining, 1), logits.shape[1]), 1e9));
      }
    }
    return values;
  });
}

/**
 * Difference of Logits Ratio (Croce & Hein 2020, eq. 5), untargeted:
 * −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12), π sorting the logits decreasingly.
 * Shift- and scale-invariant in the logits, so rescaled logits cannot hide the gradient.
 */
export function dlrObjective(labels: tf.Tensor1D): LogitsObjective {
  return (logits) =>
    tf.tidy(() => {
      assertClasses(logits, 3, 'the DLR loss');
      const [top1, , top3] = largestLogits(logits, 3);
      const numerator = tf.sub(labelLogit(logits, labels), largestOtherLogit(logits, labels));
      return tf.neg(tf.div(numerator, tf.add(tf.sub(top1, top3), 1e-12))) as tf.Tensor1D;
    });
}

/**
 * Targeted DLR (Croce & Hein 2020, eq. 6): −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12).
 */
export function dlrTargetedObjective(labels: tf.Tensor1D, targets: tf.Tensor1D): LogitsObjective {
  return (logits) =>
    tf.tidy(() => {
      assertClasses(logits, 4, 'the targeted DLR loss');
      const [top1, , top3, top4] = largestLogits(logits, 4);
      const numerator = tf.sub(labelLogit(logits, labels), labelLogit(logits, targets));
      const denominator = tf.add(tf.sub(top1, tf.mul(tf.add(top3, top4), 0.5)), 1e-12);
      return tf.neg(tf.div(numerator, denominator)) as tf.Tensor1D;
    });
}

export function assertClasses(logits: tf.Tensor2D, minimum: number, what: string): void {
  if (logits.shape[1] < minimum) {
    throw new Error(`${what} needs at least ${minimum} classes, the model has ${logits.shape[1]}`);
  }
}

export type LossAndGradient = {
  logits: tf.Tensor2D;
  /** Per-example objective values. */
  loss: tf.Tensor1D;
  /** ∇x of the summed objective: each example's own gradient (examples are independent). */
  gradient: tf.Tensor;
};

/**
 * One forward and one backward pass giving logits, per-example loss and input gradient.
 * The objective is summed, not averaged, so a gradient does not shrink with the batch size.
 * All three tensors belong to the caller's scope.
 */
export function lossAndGradient(model: LogitsModel, objective: LogitsObjective, inputs: tf.Tensor): LossAndGradient {
  const captured: { logits?: tf.Tensor2D } = {};
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
    const logits = model(x);
    // Kept past valueAndGrad's inner tidy; a clone so the tape never disposes it.
    captured.logits = tf.keep(tf.clone(logits));
    return objective(logits);
  })(inputs);
  const kept = captured.logits;
  if (kept === undefined) {
    throw new Error('the model was not called');
  }
  // Re-owned by the caller's scope (a kept tensor would escape every tidy).
  const logits = tf.clone(kept);
  kept.dispose();
  return { logits, loss: value, gradient: grad };
}
