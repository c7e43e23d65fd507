import * as tf from '@tensorflow/tfjs';
import { crossEntropyObjective, lossAndGradient } from './attack-losses';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { ascentDirection, project, randomStart as randomStartIn } from './perturbation-ops';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export interface PgdOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes; the attack is untargeted (it increases their cross-entropy). */
  labels: tf.Tensor1D;
  /** Radius of the threat model's ball, in input space [0,1]. */
  epsilon: number;
  /** α, the length of each ascent step in `norm` (L∞: every coordinate moves by α). */
  stepSize: number;
  /** Number of gradient steps (≥ 1). */
  steps: number;
  /** Start from a random point of the ε-ball (Madry et al.) rather than the input; default true. */
  randomStart?: boolean;
  /** Seeds the random start (default 0); adversarial training passes a fresh one per batch. */
  seed?: number;
  /** Default 'linf'. */
  norm?: PerturbationNorm;
}

/**
 * Untargeted projected gradient ascent on the cross-entropy (Madry et al., ICLR 2018):
 *   x⁰ = Π(x + δ₀),  xᵗ⁺¹ = Π(xᵗ + α·d(∇ CE(xᵗ)))
 * with δ₀ a random start in the ε-ball (or 0), d the steepest-ascent direction of unit norm
 * (sign for L∞, ∇/‖∇‖₂ for L2) and Π the projection onto the ε-ball around x and then [0,1].
 * Returns the last iterate and nothing else: the hot path of PGD adversarial training.
 * `pgd` adds the per-example verification an evaluation needs.
 */
export function craftPgd(options: PgdOptions): tf.Tensor {
  const { model, inputs, labels, epsilon, stepSize, steps, norm = 'linf', seed = 0 } = options;
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(steps);
  if (!Number.isFinite(stepSize) || stepSize <= 0) {
    throw new Error(`stepSize must be a finite number > 0, got ${stepSize}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`seed must be a safe integer, got ${seed}`);
  }
  const objective = crossEntropyObjective(labels);
  let adversarial = options.randomStart === false ? tf.clone(inputs) : randomStartIn(inputs, epsilon, norm, seed);
  for (let step = 0; step < steps; step += 1) {
    const previous = adversarial;
    adversarial = tf.tidy(() => {
      const { gradient } = lossAndGradient(model, objective, previous);
      return project(inputs, tf.add(previous, tf.mul(ascentDirection(gradient, norm), stepSize)), epsilon, norm);
    });
    previous.dispose();
  }
  return adversarial;
}

/** Untargeted PGD with the result re-verified per example (last iterate, as in Madry et al.). */
export function pgd(options: PgdOptions): AttackResult {
  const adversarial = craftPgd(options);
  return finishAttack({ ...options, norm: options.norm ?? 'linf', adversarial });
}
