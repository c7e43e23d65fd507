import * as tf from '@tensorflow/tfjs';
import { fgsm, pgd, standardSuite, type AttackResult, type LogitsModel, type PerturbationNorm } from '@bulwark/attacks';
import { makeBatch, sequentialBatches, type Dataset } from '@bulwark/data';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';
import type { DetectionOutcome, DetectorDescription, EvaluationAttackName, EvaluationAttackParams } from '@bulwark/spec';
import { mapEntry } from './map-entry';
import {
  adaptiveView,
  detectionMetrics,
  detectorAwarePgd,
  detectorVerdict,
  judgeOnClassifier,
  type AdaptiveViewOptions,
  type DefendedModel,
  type Detector,
} from '@bulwark/defenses';

export interface DetectorAwareSettings {
  steps: number;
  /** Default 2.5·ε/steps. */
  stepSize?: number;
  /** κ, default 1. */
  confidence?: number;
  /** λ, default 1. */
  detectorWeight?: number;
}

export interface EvaluateDetectionOptions {
  /** The classifier as deployed: its preprocessing, model and any logits squash. */
  defended: DefendedModel;
  /**
   * Detectors fitted behind `defended` (see fitStackDetector), at least one. The
   * detector-unaware attacks do not depend on them: their adversarial inputs are crafted once
   * per batch and judged by every detector. Only the detector-aware attack runs per detector.
   */
  detectors: readonly Detector[];
  /** Clean test examples (not the detectors' validation data). */
  dataset: Dataset;
  epsilon: number;
  norm: PerturbationNorm;
  /** Detector-unaware attacks, each run on every example. */
  attacks: readonly EvaluationAttackName[];
  params: EvaluationAttackParams;
  /** The detector-aware adaptive attack's settings. */
  adaptive: DetectorAwareSettings;
  /** EOT settings of the classifier's adaptive view for random preprocessing. */
  eot?: AdaptiveViewOptions;
  seed: number;
  batchSize?: number;
  onProgress?: (fraction: number) => void | Promise<void>;
  /** Checked between batches; true stops the evaluation (`stopped: true`, no results). */
  shouldStop?: () => boolean | Promise<boolean>;
}

/**
 * One attack against one detector, as stored, on `n` examples. `details`: hyperparameters as
 * run, the seed, and `seconds`: for an unaware attack its crafting time (shared by every
 * detector) plus this detector's judging.
 */
export type AttackDetectionOutcome = DetectionOutcome & { n: number };

export interface DetectionEvaluation {
  n: number;
  epsilon: number;
  norm: PerturbationNorm;
  detector: DetectorDescription;
  /** Fraction of the clean test examples the detector rejects (its false-positive rate out of sample). */
  cleanFalsePositiveRate: number;
  cleanCorrect: number;
  /** Correct AND not rejected: the stack's clean accuracy is cleanAccepted / n. */
  cleanAccepted: number;
  outcomes: AttackDetectionOutcome[];
  /**
   * Per example over every attack above, the detector-aware one included: correct and
   * accepted when clean, and no attack produced an input that is misclassified and accepted.
   * The stack's robust accuracy is stackRobust / n.
   */
  worstCase: { stackRobust: number; attacks: Array<AttackDetectionOutcome['attack']> };
}

/** One evaluation per detector, in the order given; none when stopped. */
export interface DetectionEvaluations {
  evaluations: DetectionEvaluation[];
  stopped: boolean;
}

type AttackName = AttackDetectionOutcome['attack'];

interface Tally {
  fooled: boolean[];
  rejected: boolean[];
  scores: number[];
  seconds: number;
}

const DETECTOR_AWARE: AttackName = 'detector-aware-pgd';

/**
 * For each detector and each attack: detection rate at the detector's fixed threshold, ROC
 * AUC, and the stack's robust accuracy; then the same for the detector-aware adaptive attack
 * against that detector. The detector-unaware attacks target the classifier's adaptive view
 * (BPDA/EOT through the preprocessing), so the adversarial inputs really fool it; everything
 * is judged on the deployed classifier and the exact detector score. Crafting dominates the
 * cost, so an unaware attack's inputs are made once and shown to every detector: with three
 * detectors that is a third of the work, and each detector sees exactly the same inputs.
 */
export async function evaluateDetection(options: EvaluateDetectionOptions): Promise<DetectionEvaluations> {
  const { defended, detectors, dataset, epsilon, norm, params, adaptive, seed } = options;
  if (detectors.length === 0) throw new Error('evaluateDetection: no detector to evaluate');
  const batchSize = options.batchSize ?? 128;
  const deployed = defended.model;
  const attackModel = adaptiveView(defended, options.eot);
  const n = dataset.size;
  const names: AttackName[] = [...options.attacks, DETECTOR_AWARE];
  const tallies = detectors.map(() => new Map<AttackName, Tally>(names.map((name) => [name, { fooled: [], rejected: [], scores: [], seconds: 0 }])));
  const cleanCorrect: boolean[] = [];
  const cleanRejected = detectors.map((): boolean[] => []);
  const cleanScores = detectors.map((): number[] => []);
  const batches = [...sequentialBatches(dataset, batchSize)];

  for (const [b, { indices }] of batches.entries()) {
    if (await options.shouldStop?.()) return { evaluations: [], stopped: true };
    const { x, y } = makeBatch(dataset, indices);
    try {
      const clean = await judgeOnClassifier({ deployed, inputs: x, labels: y, adversarial: x, epsilon: 0, norm });
      cleanCorrect.push(...clean.misclassified.map((m) => !m));
      for (const [k, detector] of detectors.entries()) {
        const { rejected, scores } = await detectorVerdict(detector, x);
        cleanRejected[k].push(...rejected);
        cleanScores[k].push(...scores);
      }
      const batchSeed = seed + indices[0];
      for (const attack of options.attacks) {
        const started = performance.now();
        const adversarial = await craftUnaware(attack, { attackModel, x, y, epsilon, norm, params, seed: batchSeed });
        try {
          const { misclassified } = await judgeOnClassifier({ deployed, inputs: x, labels: y, adversarial, epsilon, norm });
          const crafted = (performance.now() - started) / 1000;
          for (const [k, detector] of detectors.entries()) {
            const judging = performance.now();
            const { rejected, scores } = await detectorVerdict(detector, adversarial);
            record(mapEntry(tallies[k], attack), misclassified, rejected, scores, crafted + (performance.now() - judging) / 1000);
          }
        } finally {
          adversarial.dispose();
        }
      }
      for (const [k, detector] of detectors.entries()) {
        const started = performance.now();
        const result = await detectorAwarePgd({ model: attackModel, deployed, detector, inputs: x, labels: y, epsilon, norm, seed: batchSeed, ...adaptive });
        result.adversarial.dispose();
        record(mapEntry(tallies[k], DETECTOR_AWARE), result.misclassified, result.rejected, result.scores, (performance.now() - started) / 1000);
      }
    } finally {
      tf.dispose([x, y]);
    }
    await options.onProgress?.((b + 1) / batches.length);
    await yieldToEventLoop();
  }

  const evaluations = detectors.map((detector, k): DetectionEvaluation => {
    const accepted = cleanCorrect.map((c, i) => c && !cleanRejected[k][i]);
    const tally = (name: AttackName) => mapEntry(tallies[k], name);
    const withstood = (name: AttackName, i: number) => tally(name).rejected[i] || !tally(name).fooled[i];
    const description = detector.describe();
    const outcomes = names.map((name): AttackDetectionOutcome => {
      const { fooled, rejected, scores, seconds } = tally(name);
      const counted = fooled.map((f, i) => f && cleanCorrect[i]);
      const adversarialScores = scores.filter((_, i) => counted[i]);
      const metrics = detectionMetrics({ cleanScores: cleanScores[k], adversarialScores, threshold: detector.threshold, fpr: description.targetFpr });
      return {
        attack: name,
        n,
        fooled: adversarialScores.length,
        detected: counted.filter((c, i) => c && rejected[i]).length,
        detectionRate: metrics.detectionRate,
        rocAuc: metrics.rocAuc,
        stackRobust: accepted.filter((a, i) => a && withstood(name, i)).length,
        details: { ...attackDetails(name, epsilon, norm, params, adaptive), seed, seconds },
      };
    });
    return {
      n,
      epsilon,
      norm,
      detector: description,
      cleanFalsePositiveRate: cleanRejected[k].filter(Boolean).length / n,
      cleanCorrect: cleanCorrect.filter(Boolean).length,
      cleanAccepted: accepted.filter(Boolean).length,
      outcomes,
      worstCase: { stackRobust: accepted.filter((a, i) => a && names.every((name) => withstood(name, i))).length, attacks: names },
    };
  });
  return { evaluations, stopped: false };
}

function record(tally: Tally, fooled: boolean[], rejected: boolean[], scores: ArrayLike<number>, seconds: number): void {
  tally.fooled.push(...fooled);
  tally.rejected.push(...rejected);
  tally.scores.push(...Array.from(scores));
  tally.seconds += seconds;
}

/** Lets lock renewals and progress writes run between batches (train/ is another module's; this stays independent of it). */

interface UnawareArgs {
  attackModel: LogitsModel;
  x: tf.Tensor;
  y: tf.Tensor1D;
  epsilon: number;
  norm: PerturbationNorm;
  params: EvaluationAttackParams;
  seed: number;
}

/** One detector-unaware attack on the classifier's adaptive view: its adversarial inputs (the caller disposes them). */
async function craftUnaware(attack: EvaluationAttackName, { attackModel, x, y, epsilon, norm, params, seed }: UnawareArgs): Promise<tf.Tensor> {
  let result: AttackResult;
  if (attack === 'fgsm') {
    result = await fgsm({ model: attackModel, inputs: x, labels: y, epsilon, norm });
  } else if (attack === 'pgd') {
    const { steps, stepSizeFactor, restarts, loss } = params.pgd;
    result = await pgd({
      model: attackModel,
      inputs: x,
      labels: y,
      epsilon,
      norm,
      steps,
      stepSize: (stepSizeFactor * epsilon) / steps,
      restarts,
      loss,
      randomStart: true,
      seed,
    });
  } else {
    result = await standardSuite({
      model: attackModel,
      inputs: x,
      labels: y,
      epsilon,
      norm,
      seed,
      stages: [attack],
      apgdSteps: params.apgd.steps,
      apgdRestarts: params.apgd.restarts,
      targetClasses: params.apgdTargeted.targetClasses,
      squareQueries: params.square.queries,
    });
  }
  return result.adversarial;
}

function attackDetails(
  attack: AttackDetectionOutcome['attack'],
  epsilon: number,
  norm: PerturbationNorm,
  params: EvaluationAttackParams,
  adaptive: DetectorAwareSettings,
): Record<string, unknown> {
  const base = { epsilon, norm, detectorAware: attack === 'detector-aware-pgd' };
  switch (attack) {
    case 'fgsm':
      return { ...base, loss: 'ce', steps: 1 };
    case 'pgd':
      return { ...base, ...params.pgd, randomStart: true };
    case 'apgd-ce':
      return { ...base, loss: 'ce', ...params.apgd };
    case 'apgd-t':
      return { ...base, loss: 'dlr-targeted', ...params.apgdTargeted };
    case 'square':
      return { ...base, loss: 'margin', ...params.square };
    case 'detector-aware-pgd':
      return {
        ...base,
        loss: 'margin until misclassified, then min(margin, κ) − λ·(score − τ)/σ until accepted',
        confidence: 1,
        detectorWeight: 1,
        stepSizeFactor: 2.5,
        randomStart: true,
        ...adaptive,
      };
  }
}
