import * as tf from '@tensorflow/tfjs';
import { apgd } from './apgd';
import type { AttackResult, PerturbationNorm } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { gatherExamples, indicesWhere, mergeExamples } from './perturbation-ops';
import { readAndDispose } from './read-tensors';
import { createSeededRandom } from './seeded-random';
import { square } from './square';
import { assertEpsilon, assertNorm } from './verify-perturbation';

export type SuiteStageName = 'apgd-ce' | 'apgd-t' | 'square';

export const STANDARD_SUITE_STAGES: readonly SuiteStageName[] = ['apgd-ce', 'apgd-t', 'square'];

export interface StandardSuiteOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  epsilon: number;
  /** Default 'linf'. Square is L∞ only and is skipped (and reported as skipped) for 'l2'. */
  norm?: PerturbationNorm;
  /** Seeds every stage (default 0). */
  seed?: number;
  /** Stages in order (default APGD-CE, APGD-T, Square). */
  stages?: readonly SuiteStageName[];
  /** APGD iterations per run (default 100). */
  apgdSteps?: number;
  /** APGD-CE restarts (default 1, as AutoAttack's standard version). */
  apgdRestarts?: number;
  /** APGD-T target classes (default 3; AutoAttack uses 9, at three times the cost). */
  targetClasses?: number;
  /** Square queries (default 5000). */
  squareQueries?: number;
  /** Called after each stage, e.g. for job progress. */
  onStage?: (report: SuiteStageReport) => void;
}

export interface SuiteStageReport {
  name: SuiteStageName;
  /** The stage's full hyperparameters, for storing with the evaluation. */
  params: Record<string, string | number>;
  /** Examples still robust when the stage started (the only ones it attacked). */
  attempted: number;
  /** Of those, how many it broke (verified). */
  broken: number;
  /** Why the stage did not run, if it did not. */
  skipped?: string;
  durationMs: number;
}

export interface SuiteResult extends AttackResult {
  /** Per example: 'clean' if misclassified unattacked, else the first stage that broke it, else null. */
  brokenBy: Array<SuiteStageName | 'clean' | null>;
  /** Per example: correct on the clean input and on the worst adversarial input found. */
  robust: boolean[];
  stages: SuiteStageReport[];
}

/**
 * A standard suite in the spirit of AutoAttack (Croce & Hein 2020): APGD-CE, then APGD-T
 * on the targeted DLR loss, then the black-box Square Attack. Each stage attacks only the
 * examples that are still robust, so an example counts as robust only if no stage broke it,
 * and its adversarial input is the one the breaking stage found (the per-example worst case).
 * The assembled adversarial batch is re-verified as a whole before anything is reported.
 */
export async function standardSuite(options: StandardSuiteOptions): Promise<SuiteResult> {
  const { model, inputs, labels, epsilon, norm = 'linf', seed = 0, stages = STANDARD_SUITE_STAGES, onStage } = options;
  const { apgdSteps = 100, apgdRestarts = 1, targetClasses = 3, squareQueries = 5000 } = options;
  assertEpsilon(epsilon);
  assertNorm(norm);
  assertLabelsMatch(inputs, labels);
  assertSteps(apgdSteps, 'apgdSteps');
  assertSteps(targetClasses, 'targetClasses');
  assertSteps(squareQueries, 'squareQueries');
  for (const stage of stages) {
    if (!STANDARD_SUITE_STAGES.includes(stage)) throw new Error(`standardSuite: unknown stage '${stage}'`);
  }
  const rng = createSeededRandom(seed);
  const cleanLogits = tf.tidy(() => model(inputs));
  const numClasses = cleanLogits.shape[1];
  const wrong = await readAndDispose(tf.tidy(() => hits(cleanLogits, labels)));
  cleanLogits.dispose();
  const brokenBy: Array<SuiteStageName | 'clean' | null> = Array.from(wrong, (w) => (w === 1 ? 'clean' : null));
  const reports: SuiteStageReport[] = [];
  let adversarial = tf.clone(inputs);
  try {
    for (const name of stages) {
      const stageSeed = rng.tensorSeed();
      const params = stageParams(name, {
        epsilon,
        norm,
        seed: stageSeed,
        apgdSteps,
        apgdRestarts,
        targetClasses: Math.min(targetClasses, numClasses - 1),
        squareQueries,
      });
      const active = indicesWhere(brokenBy.map((b) => b === null));
      const skipped = skipReason(name, norm, numClasses);
      const started = Date.now();
      if (skipped !== undefined || active.length === 0) {
        const report = { name, params, attempted: active.length, broken: 0, skipped, durationMs: 0 };
        reports.push(report);
        onStage?.(report);
        continue;
      }
      const x = gatherExamples(inputs, active);
      const y = gatherExamples(labels, active);
      let result: AttackResult;
      try {
        result = await runStage(name, {
          model,
          inputs: x,
          labels: y,
          epsilon,
          norm,
          seed: stageSeed,
          apgdSteps,
          apgdRestarts,
          targetClasses: params.targetClasses as number,
          squareQueries,
        });
      } finally {
        tf.dispose([x, y]);
      }
      const fooled = indicesWhere(result.success);
      const merged = tf.tidy(() =>
        mergeExamples(
          adversarial,
          fooled.map((j) => active[j]),
          gatherExamples(result.adversarial, fooled),
        ),
      );
      result.adversarial.dispose();
      adversarial.dispose();
      adversarial = merged;
      for (const j of fooled) brokenBy[active[j]] = name;
      const report = { name, params, attempted: active.length, broken: fooled.length, durationMs: Date.now() - started };
      reports.push(report);
      onStage?.(report);
    }
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
  const final = await finishAttack({ model, inputs, labels, adversarial, epsilon, norm });
  // The final re-check is the verdict: a stage's success it cannot reproduce (a randomised
  // model, say) does not count.
  const confirmed = brokenBy.map((b, i) => (b === null || b === 'clean' || final.success[i] ? b : null));
  const robust = confirmed.map((b) => b === null);
  return { ...final, brokenBy: confirmed, robust, stages: reports };
}

interface StageSettings {
  model: LogitsModel;
  inputs: tf.Tensor;
  labels: tf.Tensor1D;
  epsilon: number;
  norm: PerturbationNorm;
  seed: number;
  apgdSteps: number;
  apgdRestarts: number;
  targetClasses: number;
  squareQueries: number;
}

function runStage(name: SuiteStageName, s: StageSettings): Promise<AttackResult> {
  const common = { model: s.model, inputs: s.inputs, labels: s.labels, epsilon: s.epsilon, seed: s.seed };
  switch (name) {
    case 'apgd-ce':
      return apgd({ ...common, norm: s.norm, steps: s.apgdSteps, restarts: s.apgdRestarts, loss: 'ce' });
    case 'apgd-t':
      return apgd({ ...common, norm: s.norm, steps: s.apgdSteps, loss: 'dlr', targetClasses: s.targetClasses });
    case 'square':
      return square({ ...common, queries: s.squareQueries });
  }
}

function stageParams(name: SuiteStageName, s: Omit<StageSettings, 'model' | 'inputs' | 'labels'>): Record<string, string | number> {
  switch (name) {
    case 'apgd-ce':
      return { attack: 'apgd', loss: 'ce', norm: s.norm, epsilon: s.epsilon, steps: s.apgdSteps, restarts: s.apgdRestarts, rho: 0.75, seed: s.seed };
    case 'apgd-t':
      return {
        attack: 'apgd',
        loss: 'dlr-targeted',
        norm: s.norm,
        epsilon: s.epsilon,
        steps: s.apgdSteps,
        restarts: 1,
        targetClasses: s.targetClasses,
        rho: 0.75,
        seed: s.seed,
      };
    case 'square':
      return { attack: 'square', loss: 'margin', norm: 'linf', epsilon: s.epsilon, queries: s.squareQueries, pInit: 0.8, restarts: 1, seed: s.seed };
  }
}

function skipReason(name: SuiteStageName, norm: PerturbationNorm, numClasses: number): string | undefined {
  if (name === 'apgd-t' && numClasses < 4) return `the targeted DLR loss needs at least 4 classes, the model has ${numClasses}`;
  if (name === 'square' && norm !== 'linf') return 'Square is implemented for L∞ only';
  return undefined;
}
