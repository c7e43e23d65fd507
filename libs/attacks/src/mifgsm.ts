import * as tf from '@tensorflow/tfjs';
import { lossAndGradient, lossObjective, type AttackLoss } from './attack-losses';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { ascentDirection, perExample, project, replaceState, selectExamples } from './perturbation-ops';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export interface MifgsmOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  /** Budget in `norm`. */
  epsilon: number;
  /** Default 'linf'. */
  norm?: PerturbationNorm;
  /** Iterations T (default 10). */
  steps?: number;
  /** α per step; default ε/T as in the paper, so T steps can just reach the boundary. */
  stepSize?: number;
  /** μ, the decay of the accumulated gradient (default 1.0, the paper's choice). */
  decay?: number;
  /** Default 'ce'. */
  loss?: AttackLoss;
  /** Targeted when given: success means predicting these classes. */
  targets?: tf.Tensor1D;
}

/**
 * Momentum iterative FGSM (Dong et al., CVPR 2018):
 *   g ← μ·g + ∇/‖∇‖₁,   x ← Π(x + α·sign(g))   (L2: α·g/‖g‖₂).
 * Deterministic (no random start). Per example the result is the first iterate that
 * succeeded, else the last one.
 */
export async function mifgsm(options: MifgsmOptions): Promise<AttackResult> {
  const { model, inputs, labels, epsilon, norm = 'linf', steps = 10, decay = 1.0, loss = 'ce', targets } = options;
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(steps);
  const stepSize = options.stepSize ?? epsilon / steps;
  const targeted = targets !== undefined;
  const objective = lossObjective(loss, targeted ? targets : labels, targeted);
  const adversarial = tf.tidy(() => {
    let state = {
      x: tf.clone(inputs),
      momentum: tf.zerosLike(inputs),
      found: tf.zeros<tf.Rank.R1>([inputs.shape[0]], 'bool'),
      best: tf.clone(inputs),
    };
    for (let t = 0; t < steps; t += 1) {
      const { x, momentum, found, best } = state;
      state = replaceState(
        state,
        tf.tidy(() => {
          const { logits, gradient } = lossAndGradient(model, objective, x);
          const newly = tf.logicalAnd<tf.Tensor1D>(hits(logits, labels, targets), tf.logicalNot(found));
          const l1 = tf.sum<tf.Tensor1D>(tf.abs(tf.reshape(gradient, [gradient.shape[0], -1])), 1);
          const g = tf.add(tf.mul(momentum, decay), tf.div(gradient, perExample(tf.add<tf.Tensor1D>(l1, 1e-12), gradient.rank)));
          return {
            x: project(inputs, tf.add(x, tf.mul(ascentDirection(g, norm), stepSize)), epsilon, norm),
            momentum: g,
            found: tf.logicalOr<tf.Tensor1D>(found, newly),
            best: selectExamples(newly, x, best),
          };
        }),
      );
    }
    return selectExamples(state.found, state.best, state.x);
  });
  return finishAttack({ model, inputs, labels, adversarial, epsilon, norm, targets });
}
