import * as tf from '@tensorflow/tfjs';
import { fgsm, pgd, standardSuite, type AttackResult, type LogitsModel, type PerturbationNorm, type SuiteStageName } from '@bulwark/attacks';
import { makeBatch, sequentialBatches } from '../datasets/batches';
import type { Dataset } from '../datasets/dataset';
import type { RobustnessAttack, RobustnessParams } from '../evaluate/evaluate-robustness';
import { adaptiveView, type AdaptiveViewOptions } from './defended-model';
import type { DefenseStack } from './defense-stack';
import { detectionMetrics } from './detection-metrics';
import { detectorAwarePgd, judgeWithDetector, type DetectorAwareResult } from './detector-aware-attack';
import type { DetectorDescription } from './detector';

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
  /** A stack with a detector. */
  stack: DefenseStack;
  /** Clean test examples (not the detector's validation data). */
  dataset: Dataset;
  epsilon: number;
  norm: PerturbationNorm;
  /** Detector-unaware attacks, each run on every example. */
  attacks: readonly RobustnessAttack[];
  params: RobustnessParams;
  /** The detector-aware adaptive attack's settings. */
  adaptive: DetectorAwareSettings;
  /** EOT settings of the classifier's adaptive view for random preprocessing. */
  eot?: AdaptiveViewOptions;
  seed: number;
  batchSize?: number;
  onProgress?: (fraction: number) => void | Promise<void>;
}

export interface AttackDetectionOutcome {
  attack: RobustnessAttack | 'detector-aware-pgd';
  n: number;
  /** Adversarial inputs, on clean-correct examples, that the deployed classifier misclassifies (rejected or not). */
  fooled: number;
  /** Of those, rejected by the detector. */
  detected: number;
  /** detected / fooled at the detector's threshold (fixed for its FPR on validation data); null when nothing fooled it. */
  detectionRate: number | null;
  /** Adversarial (fooled) against all clean test scores; null when nothing fooled it. */
  rocAuc: number | null;
  /** Correct and accepted when clean, and the adversarial input rejected or still correct. */
  stackRobust: number;
  details: Record<string, unknown>;
}

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

interface Tally {
  fooled: boolean[];
  rejected: boolean[];
  scores: number[];
  seconds: number;
}

/**
 * For a stack's detector and each attack: detection rate at the fixed threshold, ROC AUC, and
 * the stack's robust accuracy; then the same for the detector-aware adaptive attack. The
 * detector-unaware attacks target the classifier's adaptive view (BPDA/EOT through the
 * preprocessing), so the adversarial inputs really fool it; everything is judged on the
 * deployed classifier and the exact detector score.
 */
export async function evaluateDetection(options: EvaluateDetectionOptions): Promise<DetectionEvaluation> {
  const { stack, dataset, epsilon, norm, params, adaptive, seed } = options;
  const detector = stack.detector;
  if (!detector) throw new Error('evaluateDetection: the stack has no detector');
  const batchSize = options.batchSize ?? 128;
  const deployed = stack.defended.model;
  const attackModel = adaptiveView(stack.defended, options.eot);
  const n = dataset.size;
  const names: Array<AttackDetectionOutcome['attack']> = [...options.attacks, 'detector-aware-pgd'];
  const tallies = new Map(names.map((name) => [name, { fooled: [], rejected: [], scores: [], seconds: 0 } as Tally]));
  const cleanCorrect: boolean[] = [];
  const cleanRejected: boolean[] = [];
  const cleanScores: number[] = [];
  const batches = [...sequentialBatches(dataset, batchSize)];

  for (const [b, { indices }] of batches.entries()) {
    const { x, y } = makeBatch(dataset, indices);
    try {
      const clean = judgeWithDetector({ deployed, detector, inputs: x, labels: y, adversarial: tf.clone(x), epsilon: 0, norm });
      clean.adversarial.dispose();
      cleanCorrect.push(...clean.misclassified.map((m) => !m));
      cleanRejected.push(...clean.rejected);
      cleanScores.push(...clean.scores);
      const batchSeed = seed + indices[0];
      for (const name of names) {
        const started = performance.now();
        const result = name === 'detector-aware-pgd' ? detectorAwarePgd({ model: attackModel, deployed, detector, inputs: x, labels: y, epsilon, norm, seed: batchSeed, ...adaptive }) : unaware(name, { attackModel, deployed, detector, x, y, epsilon, norm, params, seed: batchSeed });
        const tally = tallies.get(name)!;
        tally.seconds += (performance.now() - started) / 1000;
        tally.fooled.push(...result.misclassified);
        tally.rejected.push(...result.rejected);
        tally.scores.push(...result.scores);
        result.adversarial.dispose();
      }
    } finally {
      tf.dispose([x, y]);
    }
    await options.onProgress?.((b + 1) / batches.length);
    await yieldToEventLoop();
  }

  const accepted = cleanCorrect.map((c, i) => c && !cleanRejected[i]);
  const withstood = (name: AttackDetectionOutcome['attack'], i: number) => tallies.get(name)!.rejected[i] || !tallies.get(name)!.fooled[i];
  const outcomes = names.map((name): AttackDetectionOutcome => {
    const { fooled, rejected, scores, seconds } = tallies.get(name)!;
    const counted = fooled.map((f, i) => f && cleanCorrect[i]);
    const adversarialScores = scores.filter((_, i) => counted[i]);
    const metrics = detectionMetrics({ cleanScores, adversarialScores, threshold: detector.threshold, fpr: detector.describe().targetFpr });
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
    detector: detector.describe(),
    cleanFalsePositiveRate: cleanRejected.filter(Boolean).length / n,
    cleanCorrect: cleanCorrect.filter(Boolean).length,
    cleanAccepted: accepted.filter(Boolean).length,
    outcomes,
    worstCase: { stackRobust: accepted.filter((a, i) => a && names.every((name) => withstood(name, i))).length, attacks: names },
  };
}

/** Lets lock renewals and progress writes run between batches (train/ is another module's; this stays independent of it). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface UnawareArgs {
  attackModel: LogitsModel;
  deployed: LogitsModel;
  detector: NonNullable<DefenseStack['detector']>;
  x: tf.Tensor;
  y: tf.Tensor1D;
  epsilon: number;
  norm: PerturbationNorm;
  params: RobustnessParams;
  seed: number;
}

/** One detector-unaware attack on the classifier, re-judged against the deployed stack. */
function unaware(attack: RobustnessAttack, { attackModel, deployed, detector, x, y, epsilon, norm, params, seed }: UnawareArgs): DetectorAwareResult {
  let result: AttackResult;
  if (attack === 'fgsm') {
    result = fgsm({ model: attackModel, inputs: x, labels: y, epsilon, norm });
  } else if (attack === 'pgd') {
    const { steps, stepSizeFactor, restarts, loss } = params.pgd;
    result = pgd({ model: attackModel, inputs: x, labels: y, epsilon, norm, steps, stepSize: (stepSizeFactor * epsilon) / steps, restarts, loss, randomStart: true, seed });
  } else {
    result = standardSuite({
      model: attackModel,
      inputs: x,
      labels: y,
      epsilon,
      norm,
      seed,
      stages: [attack as SuiteStageName],
      apgdSteps: params.apgd.steps,
      apgdRestarts: params.apgd.restarts,
      targetClasses: params.apgdTargeted.targetClasses,
      squareQueries: params.square.queries,
    });
  }
  return judgeWithDetector({ deployed, detector, inputs: x, labels: y, adversarial: result.adversarial, epsilon, norm });
}

function attackDetails(attack: AttackDetectionOutcome['attack'], epsilon: number, norm: PerturbationNorm, params: RobustnessParams, adaptive: DetectorAwareSettings): Record<string, unknown> {
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
      return { ...base, loss: 'margin until misclassified, then min(margin, κ) − λ·(score − τ)/σ until accepted', confidence: 1, detectorWeight: 1, stepSizeFactor: 2.5, randomStart: true, ...adaptive };
  }
}
