import * as tf from '@tensorflow/tfjs';
import { lossAndGradient, lossObjective, type AttackLoss, type LogitsObjective } from './attack-losses';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import {
  ascentDirection,
  gatherExamples,
  indicesWhere,
  mergeExamples,
  project,
  randomStart as randomStartIn,
  replaceState,
  selectExamples,
} from './perturbation-ops';
import { readAllAndDispose, readAndDispose } from './read-tensors';
import { createSeededRandom } from './seeded-random';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export interface PgdOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes; untargeted unless `targets` is given. */
  labels: tf.Tensor1D;
  /** Radius of the threat model's ball, in input space [0,1]. */
  epsilon: number;
  /** α, the length of each ascent step in `norm` (L∞: every coordinate moves by α); default 2.5·ε/steps (Madry et al.). */
  stepSize?: number;
  /** Number of gradient steps (≥ 1); default 10. */
  steps?: number;
  /** Start from a random point of the ε-ball (Madry et al.) rather than the input; default true. False is BIM. */
  randomStart?: boolean;
  /** Seeds the random start (default 0); adversarial training passes a fresh one per batch. */
  seed?: number;
  /** Default 'linf'. */
  norm?: PerturbationNorm;
  /** 'ce' (default): cross-entropy; 'margin': the Carlini–Wagner logit margin. */
  loss?: AttackLoss;
  /** Targeted when given: the attack descends the loss towards these classes, and success means predicting them. */
  targets?: tf.Tensor1D;
}

export interface PgdEvaluationOptions extends PgdOptions {
  /** Runs from fresh random starts, each only on the examples still robust (default 1). */
  restarts?: number;
}

/** Options of Kurakin et al.'s BIM: PGD from the clean input, so no random start. */
export type BimOptions = Omit<PgdOptions, 'randomStart'>;

/**
 * Projected gradient ascent (Madry et al., ICLR 2018):
 *   x⁰ = Π(x + δ₀),  xᵗ⁺¹ = Π(xᵗ + α·d(∇ L(xᵗ)))
 * with δ₀ a random start in the ε-ball (or 0: BIM), d the steepest-ascent direction of unit
 * norm (sign for L∞, ∇/‖∇‖₂ for L2), L the cross-entropy or the logit margin (negated
 * towards `targets` when targeted), and Π the projection onto the ε-ball around x and then
 * [0,1]. Returns the last iterate and nothing else: the hot path of PGD adversarial
 * training. `pgd` adds restarts and the per-example verification an evaluation needs.
 */
export function craftPgd(options: PgdOptions): tf.Tensor {
  const settings = resolve(options);
  const run = runPgd(settings, options.inputs, options.labels, options.targets, settings.seed, false);
  return run.last;
}

/**
 * PGD for evaluation, with restarts each run only on the examples still robust. Per example
 * the result is the last iterate if it succeeds (misclassified, or the target when
 * targeted), else an earlier iterate that succeeded, else the highest-loss last iterate over
 * the restarts: never weaker than Madry et al.'s last iterate. Re-verified per example.
 */
export async function pgd(options: PgdEvaluationOptions): Promise<AttackResult> {
  const settings = resolve(options);
  const { model, inputs, labels, targets } = options;
  const restarts = options.restarts ?? 1;
  assertSteps(restarts, 'restarts');
  const batch = inputs.shape[0];
  // Restart 0 uses `seed` itself, so a single run is exactly craftPgd's; later ones derive from it.
  const rng = createSeededRandom(settings.seed);
  const robust = Array.from(await readAndDispose(tf.tidy(() => tf.logicalNot(hits(model(inputs), labels, targets)))), (v) => v === 1);
  const bestLoss = new Float32Array(batch).fill(-Infinity);
  let adversarial = tf.clone(inputs);
  try {
    for (let restart = 0; restart < restarts; restart += 1) {
      const active = indicesWhere(robust);
      if (active.length === 0) break;
      const seed = restart === 0 ? settings.seed : rng.tensorSeed();
      const run = tf.tidy(() => {
        const x = gatherExamples(inputs, active);
        const y = gatherExamples(labels, active);
        const t = targets === undefined ? undefined : gatherExamples(targets, active);
        const { last, found, best } = runPgd(settings, x, y, t, seed, true);
        const logits = model(last);
        const lastHit = hits(logits, y, t);
        // The last iterate when it succeeds (Madry et al.'s answer), else an earlier success, else the last iterate.
        const result = selectExamples(lastHit, last, selectExamples(found as tf.Tensor1D, best as tf.Tensor, last));
        return { result, found: tf.logicalOr<tf.Tensor1D>(lastHit, found as tf.Tensor1D), loss: settings.objectiveFor(t ?? y, t !== undefined)(logits) };
      });
      const [found, loss] = await readAllAndDispose([run.found, run.loss]);
      const take = indicesWhere(active.map((i, j) => found[j] === 1 || loss[j] > bestLoss[i]));
      const merged = tf.tidy(() =>
        mergeExamples(
          adversarial,
          take.map((j) => active[j]),
          gatherExamples(run.result, take),
        ),
      );
      run.result.dispose();
      adversarial.dispose();
      adversarial = merged;
      for (const j of take) {
        bestLoss[active[j]] = loss[j];
        if (found[j] === 1) robust[active[j]] = false;
      }
    }
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
  return finishAttack({ model, inputs, labels, adversarial, epsilon: options.epsilon, norm: settings.norm, targets });
}

/** BIM / I-FGSM (Kurakin et al., 2017): PGD without the random start. */
export async function bim(options: BimOptions): Promise<AttackResult> {
  return pgd({ ...options, randomStart: false });
}

interface ResolvedPgd {
  model: LogitsModel;
  epsilon: number;
  stepSize: number;
  steps: number;
  randomStart: boolean;
  seed: number;
  norm: PerturbationNorm;
  objectiveFor: (labels: tf.Tensor1D, targeted: boolean) => LogitsObjective;
}

function resolve(options: PgdOptions): ResolvedPgd {
  const { model, inputs, labels, epsilon, steps = 10, norm = 'linf', seed = 0, loss = 'ce', targets } = options;
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(steps);
  const stepSize = options.stepSize ?? (2.5 * epsilon) / steps;
  // A default step of 0 only arises at ε = 0, where the attack rightly stays at x.
  if (!Number.isFinite(stepSize) || stepSize < 0 || (stepSize === 0 && options.stepSize !== undefined)) {
    throw new Error(`stepSize must be a finite number > 0, got ${stepSize}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`seed must be a safe integer, got ${seed}`);
  }
  if (targets !== undefined) assertLabelsMatch(inputs, targets);
  // Fails fast on an unknown loss name, before any work.
  lossObjective(loss, labels);
  return {
    model,
    epsilon,
    stepSize,
    steps,
    randomStart: options.randomStart !== false,
    seed,
    norm,
    objectiveFor: (goal, targeted) => lossObjective(loss, goal, targeted),
  };
}

/**
 * One PGD run on `inputs`. With `track`, also returns per example whether some iterate
 * succeeded and the first one that did (iterates are judged by the logits their own
 * gradient pass computed, so tracking costs no extra forward pass; the last iterate is
 * judged by the caller).
 */
function runPgd(
  settings: ResolvedPgd,
  inputs: tf.Tensor,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D | undefined,
  seed: number,
  track: boolean,
): { last: tf.Tensor; found?: tf.Tensor1D; best?: tf.Tensor } {
  const { model, epsilon, stepSize, steps, norm } = settings;
  const objective = settings.objectiveFor(targets ?? labels, targets !== undefined);
  let state: Record<string, tf.Tensor> = {
    x: settings.randomStart ? randomStartIn(inputs, epsilon, norm, seed) : tf.clone(inputs),
  };
  if (track) {
    state.found = tf.zeros([inputs.shape[0]], 'bool');
    state.best = tf.clone(inputs);
  }
  for (let step = 0; step < steps; step += 1) {
    const { x, found, best } = state;
    state = replaceState(
      state,
      tf.tidy((): Record<string, tf.Tensor> => {
        const { logits, gradient } = lossAndGradient(model, objective, x);
        const next = project(inputs, tf.add(x, tf.mul(ascentDirection(gradient, norm), stepSize)), epsilon, norm);
        if (!track) return { x: next };
        const newly = tf.logicalAnd<tf.Tensor1D>(hits(logits, labels, targets), tf.logicalNot(found));
        return { x: next, found: tf.logicalOr(found, newly), best: selectExamples(newly, x, best) };
      }),
    );
  }
  return { last: state.x, found: state.found as tf.Tensor1D | undefined, best: state.best };
}
