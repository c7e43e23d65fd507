import * as tf from '@tensorflow/tfjs';
import { labelLogit, largestOtherLogit } from './attack-losses';
import type { AttackResult } from './attack-result';
import { assertSteps, finishAttack } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { replaceState, selectExamples } from './perturbation-ops';
import { assertEpsilon } from './verify-perturbation';

export interface CarliniWagnerOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  /** Targeted when given: success means predicting these classes. */
  targets?: tf.Tensor1D;
  /** κ: the logit margin the adversarial class must win by (default 0). */
  confidence?: number;
  /** Steps of the binary search over c (default 9). */
  binarySearchSteps?: number;
  /** Adam iterations per value of c (default 1000; Carlini's MNIST runs use 10,000). */
  maxIterations?: number;
  /** Adam learning rate (default 1e-2). */
  learningRate?: number;
  /** c for the first search step (default 1e-3). */
  initialConst?: number;
  /** Stop a search step once the objective stops falling (checked every maxIterations/10; default true). */
  abortEarly?: boolean;
  /**
   * Optional L2 budget: C&W is a minimum-norm attack, so without one success only requires
   * misclassification inside [0,1]; with one, also ‖δ‖₂ ≤ ε (within 1e-5).
   */
  epsilon?: number;
}

/**
 * Carlini & Wagner's L2 attack (S&P 2017), after nn_robust_attacks/l2_attack.py: optimise
 * w with x' = (tanh(w) + 1)/2, which keeps x' inside [0,1] without clipping, minimising
 *   ‖x' − x‖₂² + c·max(z_y − max_{j≠y} z_j + κ, 0)     (targeted: max(max_{j≠t} z_j − z_t + κ, 0))
 * with Adam, and binary-searching c per example (×10 until the first success, then bisect).
 * Per example the result is the smallest-L2 success over all steps, else the clean input.
 */
export async function carliniWagner(options: CarliniWagnerOptions): Promise<AttackResult> {
  const { model, inputs, labels, targets, confidence = 0, binarySearchSteps = 9, maxIterations = 1000 } = options;
  const { learningRate = 1e-2, initialConst = 1e-3, abortEarly = true, epsilon } = options;
  assertLabelsMatch(inputs, labels);
  assertSteps(binarySearchSteps, 'binarySearchSteps');
  assertSteps(maxIterations, 'maxIterations');
  if (epsilon !== undefined) assertEpsilon(epsilon);
  if (!(confidence >= 0)) throw new Error(`confidence must be >= 0, got ${confidence}`);
  if (!(learningRate > 0) || !(initialConst > 0)) throw new Error('learningRate and initialConst must be > 0');
  const batch = inputs.shape[0];
  const goal = targets ?? labels;
  const targeted = targets !== undefined;
  // arctanh(2x − 1), squeezed by 0.999999 so that x ∈ {0, 1} stays finite.
  const wInit = tf.tidy(() => tf.atanh(tf.mul(tf.sub(tf.mul(inputs, 2), 1), 0.999999)));
  const reconstruct = (w: tf.Tensor) => tf.tidy(() => tf.add(tf.mul(tf.tanh(w), 0.5), 0.5));
  const origin = reconstruct(wInit);

  const lower = new Float64Array(batch);
  const upper = new Float64Array(batch).fill(1e10);
  const consts = new Float64Array(batch).fill(initialConst);
  const bestL2 = new Float64Array(batch).fill(Infinity);
  let bestAttack = tf.clone(inputs);
  const found = new Array<boolean>(batch).fill(false);
  const abortEvery = Math.max(Math.floor(maxIterations / 10), 1);

  try {
    for (let search = 0; search < binarySearchSteps; search += 1) {
      const c = tf.tensor1d(Float32Array.from(consts));
      const roundHit = new Array<boolean>(batch).fill(false);
      let prev = Infinity;
      let state = { modifier: tf.zerosLike(inputs), m: tf.zerosLike(inputs), v: tf.zerosLike(inputs) };
      for (let iteration = 0; iteration < maxIterations; iteration += 1) {
        const { modifier, m, v } = state;
        const step = tf.tidy(() => {
          const captured: { image?: tf.Tensor; l2?: tf.Tensor1D; margin?: tf.Tensor1D } = {};
          const { value, grad } = tf.valueAndGrad((mod: tf.Tensor) => {
            const image = reconstruct(tf.add(wInit, mod));
            const logits = model(image);
            const l2 = tf.sum<tf.Tensor1D>(tf.reshape(tf.square(tf.sub(image, origin)), [batch, -1]), 1);
            const own = labelLogit(logits, goal);
            const other = largestOtherLogit(logits, goal);
            // margin > κ exactly where the example already meets the C&W success criterion.
            const margin = targeted ? tf.sub<tf.Tensor1D>(own, other) : tf.sub<tf.Tensor1D>(other, own);
            captured.image = tf.keep(tf.clone(image));
            captured.l2 = tf.keep(tf.clone(l2));
            captured.margin = tf.keep(tf.clone(margin));
            const hinge = tf.relu(tf.add(tf.neg(margin), confidence));
            return tf.sum(tf.add(l2, tf.mul(c, hinge)));
          })(modifier);
          const t = iteration + 1;
          const mNext = tf.add(tf.mul(m, 0.9), tf.mul(grad, 0.1));
          const vNext = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(grad), 0.001));
          const rate = (learningRate * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
          const modifierNext = tf.sub(modifier, tf.mul(tf.div(mNext, tf.add(tf.sqrt(vNext), 1e-8)), rate));
          return {
            next: { modifier: modifierNext, m: mNext, v: vNext },
            loss: value,
            image: own(captured.image),
            l2: own(captured.l2) as tf.Tensor1D,
            margin: own(captured.margin) as tf.Tensor1D,
          };
        });
        const [lossValue, l2, margin] = await Promise.all([step.loss.data(), step.l2.data(), step.margin.data()]);
        const loss = lossValue[0];
        const improved = new Array<boolean>(batch).fill(false);
        for (let i = 0; i < batch; i += 1) {
          if (!(margin[i] > confidence)) continue;
          roundHit[i] = true;
          if (l2[i] < bestL2[i]) {
            bestL2[i] = l2[i];
            found[i] = true;
            improved[i] = true;
          }
        }
        if (improved.some(Boolean)) {
          const merged = tf.tidy(() => selectExamples(tf.tensor1d(improved.map(Number), 'int32'), step.image, bestAttack));
          bestAttack.dispose();
          bestAttack = merged;
        }
        tf.dispose([step.loss, step.image, step.l2, step.margin]);
        state = replaceState(state, step.next);
        if (abortEarly && iteration % abortEvery === 0) {
          if (loss > prev * 0.9999) break;
          prev = loss;
        }
      }
      tf.dispose([c, ...Object.values(state)]);
      for (let i = 0; i < batch; i += 1) {
        if (roundHit[i]) {
          upper[i] = Math.min(upper[i], consts[i]);
          if (upper[i] < 1e9) consts[i] = (lower[i] + upper[i]) / 2;
        } else {
          lower[i] = Math.max(lower[i], consts[i]);
          consts[i] = upper[i] < 1e9 ? (lower[i] + upper[i]) / 2 : consts[i] * 10;
        }
      }
    }
  } catch (error) {
    bestAttack.dispose();
    throw error;
  } finally {
    tf.dispose([wInit, origin]);
  }
  return finishAttack({ model, inputs, labels, adversarial: bestAttack, epsilon: epsilon ?? Infinity, norm: 'l2', targets });
}

/** Brings a tensor kept across valueAndGrad's inner tidy back under the current scope. */
function own(kept: tf.Tensor | undefined): tf.Tensor {
  if (kept === undefined) throw new Error('carliniWagner: the objective was not evaluated');
  const tracked = tf.clone(kept);
  kept.dispose();
  return tracked;
}
