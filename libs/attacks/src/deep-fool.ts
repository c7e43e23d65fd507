import * as tf from '@tensorflow/tfjs';
import { labelLogit, lossAndGradient } from './attack-losses';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { l2NormPerExample, perExample, replaceState, selectExamples } from './perturbation-ops';
import { readAndDispose } from './read-tensors';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export interface DeepFoolOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  /** 'l2' (default) or 'linf': the norm in which the nearest boundary is sought. */
  norm?: PerturbationNorm;
  /** Overshoot past the linearised boundary (default 0.02). */
  overshoot?: number;
  /** Maximum iterations (default 50). */
  steps?: number;
  /** Classes considered: the label and the candidates − 1 largest other clean logits (default 10). */
  candidates?: number;
  /** Optional budget in `norm`; without it only misclassification inside [0,1] counts. */
  epsilon?: number;
}

/**
 * DeepFool (Moosavi-Dezfooli et al., CVPR 2016), multi-class, batched as in foolbox: at
 * each step linearise f_k = z_k − z_y for the candidate classes k, step to the nearest
 * linearised boundary, (|f_k| + 1e-4)/‖∇f_k‖_q (q the dual norm: 2 for L2, 1 for L∞), and
 * place the input at x₀ + (1 + overshoot)·Σ steps, clipped to [0,1]; an example stops moving
 * once it is misclassified. The 1e-4 terms are the authors' code's: without them an iterate
 * whose progress the [0,1] clip eats converges onto the boundary (an exact logit tie, which
 * arg-max still reads as the label) and never crosses it.
 * A minimum-norm attack: norms are reported, not bounded (unless `epsilon` is given).
 */
export async function deepFool(options: DeepFoolOptions): Promise<AttackResult> {
  const { model, inputs, labels, norm = 'l2', overshoot = 0.02, steps = 50, candidates = 10, epsilon } = options;
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(steps);
  if (epsilon !== undefined) assertEpsilon(epsilon);
  if (!(overshoot >= 0)) throw new Error(`overshoot must be >= 0, got ${overshoot}`);
  const batch = inputs.shape[0];
  const others = tf.tidy(() => {
    const logits = model(inputs);
    const k = Math.min(candidates, logits.shape[1]) - 1;
    if (k < 1) throw new Error(`deepFool needs candidates >= 2 and a model with >= 2 classes`);
    // The label's logit is pushed to the bottom so that only other classes are candidates.
    return tf.topk(tf.sub(logits, tf.mul(tf.oneHot(labels, logits.shape[1]), 1e9)), k).indices as tf.Tensor2D;
  });
  const candidateClasses = tf.tidy(() => tf.unstack(others, 1) as tf.Tensor1D[]);
  others.dispose();
  // The linearised distance to class k's boundary is measured on z_k − z_label.
  const margin = (k: tf.Tensor1D) => (z: tf.Tensor2D) => tf.sub<tf.Tensor1D>(labelLogit(z, k), labelLogit(z, labels));
  let state = { x: tf.clone(inputs), total: tf.zerosLike(inputs) };
  try {
    for (let step = 0; step < steps; step += 1) {
      const { x, total } = state;
      // The first candidate's pass also says which examples are adversarial already; once all are, the attack stops.
      const first = tf.tidy(() => {
        const { logits, loss, gradient } = lossAndGradient(model, margin(candidateClasses[0]), x);
        const adversarial = hits(logits, labels);
        return { adversarial, everyAdversarial: tf.all(adversarial), loss, gradient };
      });
      if ((await readAndDispose(first.everyAdversarial)).every((v) => v === 1)) {
        tf.dispose([first.adversarial, first.loss, first.gradient]);
        break;
      }
      const firstTensors = [first.adversarial, first.loss, first.gradient];
      let next: typeof state;
      try {
        next = tf.tidy(() => {
          let bestDistance: tf.Tensor1D = tf.fill<tf.Rank.R1>([batch], Infinity);
          let bestStep: tf.Tensor = tf.zerosLike(inputs);
          for (const [index, k] of candidateClasses.entries()) {
            const { loss, gradient } = index === 0 ? first : lossAndGradient(model, margin(k), x);
            const flat = tf.reshape(gradient, [batch, -1]);
            const dual = norm === 'l2' ? l2NormPerExample(gradient) : tf.sum<tf.Tensor1D>(tf.abs(flat), 1);
            const distance = tf.div<tf.Tensor1D>(tf.add(tf.abs(loss), 1e-4), tf.add(dual, 1e-8));
            const length = tf.add<tf.Tensor1D>(distance, 1e-4);
            const stepToBoundary =
              norm === 'l2'
                ? tf.mul(gradient, perExample(tf.div<tf.Tensor1D>(length, tf.add(dual, 1e-8)), inputs.rank))
                : tf.mul(tf.sign(gradient), perExample(length, inputs.rank));
            const closer = tf.less<tf.Tensor1D>(distance, bestDistance);
            bestStep = selectExamples(closer, stepToBoundary, bestStep);
            bestDistance = tf.minimum<tf.Tensor1D>(distance, bestDistance);
          }
          const totalNext = tf.add(total, bestStep);
          const moved = tf.clipByValue(tf.add(inputs, tf.mul(totalNext, 1 + overshoot)), 0, 1);
          return { x: selectExamples(first.adversarial, x, moved), total: totalNext };
        });
      } finally {
        tf.dispose(firstTensors);
      }
      state = replaceState(state, next);
    }
  } catch (error) {
    tf.dispose(Object.values(state));
    throw error;
  } finally {
    tf.dispose(candidateClasses);
  }
  state.total.dispose();
  return finishAttack({ model, inputs, labels, adversarial: state.x, epsilon: epsilon ?? Infinity, norm });
}
