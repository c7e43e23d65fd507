import * as tf from '@tensorflow/tfjs';
import { assertClasses, crossEntropyObjective, dlrObjective, dlrTargetedObjective, lossAndGradient, type LogitsObjective } from './attack-losses';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import {
  ascentDirection,
  gatherExamples,
  indicesWhere,
  mergeExamples,
  normalizePerExample,
  perExample,
  project,
  replaceState,
  selectExamples,
} from './perturbation-ops';
import { readAllAndDispose, readAndDispose } from './read-tensors';
import { createSeededRandom } from './seeded-random';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export type ApgdLoss = 'ce' | 'dlr';

export interface ApgdOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  /** Budget in `norm`. */
  epsilon: number;
  /** Default 'linf'. */
  norm?: PerturbationNorm;
  /** N, iterations per run (default 100, AutoAttack's). */
  steps?: number;
  /** Runs from fresh random starts, each only on the examples still robust (default 1). */
  restarts?: number;
  /** 'ce' (default) or 'dlr'. With `targetClasses` or `targets` the targeted version is used. */
  loss?: ApgdLoss;
  /**
   * APGD-T: attack towards each of the k classes with the largest clean logits other than
   * the top one, in turn (AutoAttack uses 9; fewer is faster). Success stays untargeted:
   * any misclassification counts.
   */
  targetClasses?: number;
  /** Targeted towards these classes; success means predicting them. */
  targets?: tf.Tensor1D;
  /** ρ, the oscillation threshold at a checkpoint (default 0.75). */
  rho?: number;
  /** Seeds the random starts (default 0). */
  seed?: number;
}

/**
 * Iterations (counted from 0) after which APGD checks whether to halve its step size:
 * w_j = ⌈p_j·N⌉ with p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06),
 * in the integer form of the reference implementation.
 */
export function apgdCheckpoints(steps: number): number[] {
  assertSteps(steps);
  const checkpoints: number[] = [];
  let interval = Math.max(Math.floor(0.22 * steps), 1);
  const minimum = Math.max(Math.floor(0.06 * steps), 1);
  const decrease = Math.max(Math.floor(0.03 * steps), 1);
  for (let w = interval; w <= steps; w += interval) {
    checkpoints.push(w);
    interval = Math.max(interval - decrease, minimum);
  }
  return checkpoints;
}

/**
 * Auto-PGD (Croce & Hein, ICML 2020), following the paper and fra31/auto-attack:
 * step size η = 2ε per example; momentum α = 0.75 (none on the first step),
 *   z = Π(x_k + η·sign(∇)),  x_{k+1} = Π(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1}));
 * at each checkpoint w_j, per example, η is halved and the iterate restarts from the
 * highest-loss point found when either (1) the loss increased on at most ρ·(w_j − w_{j−1})
 * of the steps since w_{j−1} (the reference's ≤; the paper writes <), or (2) η was not
 * halved at w_{j−1} and the best loss did not improve since. The first window counts the
 * step from x_0 (the paper's definition). Per example the result is the last misclassified
 * iterate if any, else the highest-loss point.
 */
export async function apgd(options: ApgdOptions): Promise<AttackResult> {
  const { model, inputs, labels, epsilon, norm = 'linf', steps = 100, restarts = 1, loss = 'ce', rho = 0.75, seed = 0 } = options;
  const { targetClasses, targets } = options;
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(steps);
  assertSteps(restarts, 'restarts');
  if (!(['ce', 'dlr'] as const).includes(loss)) {
    throw new Error(`apgd: unknown loss '${loss}' (expected 'ce' or 'dlr')`);
  }
  if (targetClasses !== undefined && targets !== undefined) {
    throw new Error('apgd: give targetClasses (APGD-T) or targets, not both');
  }
  if (targetClasses !== undefined) assertSteps(targetClasses, 'targetClasses');
  const rng = createSeededRandom(seed);
  const batch = inputs.shape[0];
  const cleanLogits = tf.tidy(() => model(inputs));
  let robust: boolean[];
  let ranked: tf.Tensor2D | undefined;
  try {
    const numClasses = cleanLogits.shape[1];
    if (loss === 'dlr') assertClasses(cleanLogits, targetClasses !== undefined || targets !== undefined ? 4 : 3, `apgd with loss 'dlr'`);
    if (targetClasses !== undefined && targetClasses > numClasses - 1) {
      throw new Error(`apgd: targetClasses ${targetClasses} exceeds the ${numClasses - 1} classes other than the top one`);
    }
    robust = Array.from(await readAndDispose(tf.tidy(() => tf.logicalNot(hits(cleanLogits, labels, targets)))), (v) => v === 1);
    // Class ids sorted by clean logit, largest first: APGD-T's target ranks come from here.
    ranked = targetClasses === undefined ? undefined : tf.tidy(() => tf.topk(cleanLogits, targetClasses + 1).indices);
  } finally {
    cleanLogits.dispose();
  }

  let adversarial = tf.clone(inputs);
  const bestLoss = new Float32Array(batch).fill(-Infinity);
  try {
    const rounds = targetClasses === undefined ? [undefined] : Array.from({ length: targetClasses }, (_, r) => r + 1);
    for (const rank of rounds) {
      for (let restart = 0; restart < restarts; restart += 1) {
        const active = indicesWhere(robust);
        if (active.length === 0) break;
        const startSeed = rng.tensorSeed();
        const x = gatherExamples(inputs, active);
        const y = gatherExamples(labels, active);
        const t = targets !== undefined ? gatherExamples(targets, active) : rankTargets(ranked, rank, active);
        let run: SingleRunResult;
        try {
          const objective = chooseObjective(loss, y, t);
          run = await apgdSingleRun({ model, x, y, objective, epsilon, norm, steps, rho, startSeed, successTargets: targets === undefined ? undefined : t });
        } finally {
          tf.dispose([x, y]);
          t?.dispose();
        }
        const [found, runLoss] = await readAllAndDispose([run.found, run.loss]);
        // Per example: a success replaces whatever was kept; otherwise the highest loss wins.
        const replace = active.map((i, j) => found[j] === 1 || runLoss[j] > bestLoss[i]);
        const take = indicesWhere(replace);
        if (take.length > 0) {
          const merged = tf.tidy(() =>
            mergeExamples(
              adversarial,
              take.map((j) => active[j]),
              gatherExamples(run.adversarial, take),
            ),
          );
          adversarial.dispose();
          adversarial = merged;
        }
        for (const j of take) {
          bestLoss[active[j]] = runLoss[j];
          if (found[j] === 1) robust[active[j]] = false;
        }
        run.adversarial.dispose();
      }
    }
  } catch (error) {
    adversarial.dispose();
    throw error;
  } finally {
    ranked?.dispose();
  }
  return finishAttack({ model, inputs, labels, adversarial, epsilon, norm, targets });
}

/** APGD-T's targets for one round: the class with the (rank+1)-th largest clean logit. */
function rankTargets(ranked: tf.Tensor2D | undefined, rank: number | undefined, active: number[]): tf.Tensor1D | undefined {
  if (ranked === undefined || rank === undefined) return undefined;
  return tf.tidy(() => tf.squeeze<tf.Tensor1D>(tf.slice(gatherExamples(ranked, active), [0, rank], [-1, 1]), [1]));
}

function chooseObjective(loss: ApgdLoss, labels: tf.Tensor1D, target?: tf.Tensor1D): LogitsObjective {
  if (target === undefined) {
    return loss === 'ce' ? crossEntropyObjective(labels) : dlrObjective(labels);
  }
  return loss === 'ce' ? crossEntropyObjective(target, true) : dlrTargetedObjective(labels, target);
}

interface SingleRunOptions {
  model: LogitsModel;
  x: tf.Tensor;
  y: tf.Tensor1D;
  objective: LogitsObjective;
  epsilon: number;
  norm: PerturbationNorm;
  steps: number;
  rho: number;
  startSeed: number;
  /** Explicit targets: success is predicting them; otherwise any misclassification. */
  successTargets?: tf.Tensor1D;
}

type SingleRunResult = {
  adversarial: tf.Tensor;
  found: tf.Tensor1D;
  loss: tf.Tensor1D;
};

/** One APGD run from a random start (AutoAttack's attack_single_run for L∞ and L2). */
async function apgdSingleRun({ model, x, y, objective, epsilon, norm, steps, rho, startSeed, successTargets }: SingleRunOptions): Promise<SingleRunResult> {
  const batch = x.shape[0];
  const checkpoints = new Set(apgdCheckpoints(steps));
  const intervals = apgdCheckpoints(steps).map((w, j, all) => w - (j === 0 ? 0 : all[j - 1]));
  const start = tf.tidy(() => {
    const noise = norm === 'linf' ? tf.randomUniform(x.shape, -1, 1, 'float32', startSeed) : tf.randomNormal(x.shape, 0, 1, 'float32', startSeed);
    return tf.clipByValue(tf.add(x, tf.mul(normalizePerExample(noise, norm), epsilon)), 0, 1);
  });
  const first = tf.tidy(() => {
    const { logits, loss, gradient } = lossAndGradient(model, objective, start);
    return { loss, gradient, hit: hits(logits, y, successTargets) };
  });
  const stepSizes = new Float32Array(batch).fill(2 * epsilon);
  const lossHistory: Float32Array[] = [(await first.loss.data()) as Float32Array];
  let state = {
    xAdv: start,
    xOld: tf.clone(start),
    gradient: first.gradient,
    xBest: tf.clone(start),
    gradientBest: tf.clone(first.gradient),
    lossBest: first.loss,
    found: first.hit,
    xBestAdv: tf.clone(start),
  };
  let lossBestLastCheck = Float32Array.from(lossHistory[0]);
  let reducedLastCheck = new Array<boolean>(batch).fill(true);
  let checkpointIndex = 0;
  for (let i = 0; i < steps; i += 1) {
    const momentum = i > 0 ? 0.75 : 1.0;
    const { xAdv, xOld, gradient, xBest, gradientBest, lossBest, found, xBestAdv } = state;
    const next = tf.tidy(() => {
      const eta = perExample(tf.tensor1d(stepSizes), x.rank);
      const z = project(x, tf.add(xAdv, tf.mul(eta, ascentDirection(gradient, norm))), epsilon, norm);
      const moved = project(x, tf.add(tf.add(xAdv, tf.mul(tf.sub(z, xAdv), momentum)), tf.mul(tf.sub(xAdv, xOld), 1 - momentum)), epsilon, norm);
      const evaluated = lossAndGradient(model, objective, moved);
      const hit = hits(evaluated.logits, y, successTargets);
      const improved = tf.greater<tf.Tensor1D>(evaluated.loss, lossBest);
      return {
        xAdv: moved,
        xOld: tf.clone(xAdv),
        gradient: evaluated.gradient,
        xBest: selectExamples(improved, moved, xBest),
        gradientBest: selectExamples(improved, evaluated.gradient, gradientBest),
        lossBest: tf.maximum<tf.Tensor1D>(evaluated.loss, lossBest),
        found: tf.logicalOr<tf.Tensor1D>(found, hit),
        xBestAdv: selectExamples(hit, moved, xBestAdv),
        loss: evaluated.loss,
      };
    });
    lossHistory.push((await readAndDispose(next.loss)) as Float32Array);
    const { loss: _, ...nextState } = next;
    state = replaceState(state, nextState);
    if (checkpoints.has(i + 1)) {
      const window = intervals[checkpointIndex];
      checkpointIndex += 1;
      const bestNow = (await state.lossBest.data()) as Float32Array;
      const reduce = new Array<boolean>(batch);
      for (let b = 0; b < batch; b += 1) {
        let increases = 0;
        for (let c = 0; c < window; c += 1) {
          if (lossHistory[i + 1 - c][b] > lossHistory[i - c][b]) increases += 1;
        }
        const oscillating = increases <= window * rho;
        const stalled = !reducedLastCheck[b] && lossBestLastCheck[b] >= bestNow[b];
        reduce[b] = oscillating || stalled;
        if (reduce[b]) stepSizes[b] /= 2;
      }
      reducedLastCheck = reduce;
      lossBestLastCheck = Float32Array.from(bestNow);
      if (reduce.some(Boolean)) {
        const { xAdv, gradient, xBest, gradientBest } = state;
        state = replaceState(
          state,
          tf.tidy(() => {
            const mask = tf.tensor1d(reduce.map(Number), 'int32');
            return { ...state, xAdv: selectExamples(mask, xBest, xAdv), gradient: selectExamples(mask, gradientBest, gradient) };
          }),
        );
      }
    }
  }
  const result = tf.tidy(() => ({
    adversarial: selectExamples(state.found, state.xBestAdv, state.xBest),
    found: tf.clone(state.found),
    loss: tf.clone(state.lossBest),
  }));
  tf.dispose(Object.values(state));
  return result;
}
