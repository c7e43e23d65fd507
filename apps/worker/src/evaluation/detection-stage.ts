import type * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import type { DetectionResult, DetectorRunSpec, EvaluationRunSpec } from '@bulwark/spec';
import { Dataset, seededSubsets } from '@bulwark/data';
import { DefendedModel, Detector, createDefense, fitStackDetector } from '@bulwark/defenses';
import { DetectionEvaluation, evaluateDetection } from '@bulwark/evaluation';
import { asLogitsModel } from '@bulwark/models';
import { detectionResult } from './detection-result';

/**
 * Training examples a Mahalanobis detector's class statistics are computed on: enough for ten
 * class means and a pooled covariance of a few hundred features (the shrinkage ridge covers
 * the rest), few enough that a predict job refits the detector in seconds.
 */
export const STATISTICS_EXAMPLES = 2000;

export interface DetectionData {
  /** Where every detector's threshold is set (validationExamples of the training split). */
  validation: Dataset;
  /** Where a Mahalanobis detector's class statistics come from. */
  statistics: Dataset;
}

/**
 * The clean data detectors are fitted on, all of it from the TRAINING split: the attacks run
 * on the test split, and a threshold set on test data would be measured on its own data.
 * Validation is a seeded subset; the statistics are the next STATISTICS_EXAMPLES of the same
 * seeded shuffle, so disjoint from it: a Mahalanobis threshold is then set on examples its
 * means and covariance never saw, as it will be used. Only when the split has nothing left
 * beyond the validation subset do the statistics reuse it (their name then says so).
 * Deterministic in (split, validationExamples, seed): a predict job refits the same detectors.
 */
export function detectionData(train: Dataset, { validationExamples, seed }: { validationExamples: number; seed: number }): DetectionData {
  const [validation, statistics] = seededSubsets(train, { counts: [validationExamples, STATISTICS_EXAMPLES], seed });
  return {
    validation,
    statistics: statistics.size > 0 ? statistics : { ...validation, name: `${validation.name} (the validation subset: nothing else left)` },
  };
}

export interface DetectionStack {
  /** The evaluated model behind the spec's defense (the bare model without one). */
  defended: DefendedModel;
  /** Fitted behind `defended`, in the order asked for. */
  detectors: Detector[];
  /** Frees the detectors' tensors; the model stays with its owner. */
  dispose(): void;
}

export interface FitDetectionStackOptions {
  model: tf.LayersModel;
  spec: EvaluationRunSpec;
  detectors: readonly DetectorRunSpec[];
  data: DetectionData;
}

/** The spec's defense around `model`, then each detector fitted behind it. */
export async function fitDetectionStack({ model, spec, detectors, data }: FitDetectionStackOptions): Promise<DetectionStack> {
  const defended = createDefense({ model: asLogitsModel(model), spec: spec.defense ?? { preprocessing: [] } });
  const fitted: Detector[] = [];
  try {
    for (const detector of detectors) {
      fitted.push(await fitStackDetector({ model, defended, spec: detector, validation: data.validation, statistics: data.statistics, seed: spec.seed }));
    }
  } catch (error) {
    fitted.forEach((d) => d.dispose());
    throw error;
  }
  return { defended, detectors: fitted, dispose: () => fitted.forEach((d) => d.dispose()) };
}

/** A mahalanobis featureLayer the model lacks is a configuration error: caught before hours of attacks, not after. */
export function assertFeatureLayers(detectors: readonly DetectorRunSpec[], model: tf.LayersModel): void {
  for (const detector of detectors) {
    if (detector.kind !== 'mahalanobis' || detector.featureLayer === undefined) continue;
    if (!model.layers.some((layer) => layer.name === detector.featureLayer)) {
      throw new UnrecoverableError(
        `detectors: model ${model.name} has no layer "${detector.featureLayer}" (it has ${model.layers.map((l) => l.name).join(', ')})`,
      );
    }
  }
}

export interface DetectionStageOptions {
  spec: EvaluationRunSpec & Required<Pick<EvaluationRunSpec, 'detectors' | 'validationExamples' | 'detectorAware'>>;
  model: tf.LayersModel;
  /** The run's training split (detectors are fitted on it). */
  train: Dataset;
  /** The seeded test subset the robustness curve was measured on. */
  examples: Dataset;
  onProgress: (fraction: number) => Promise<void>;
  shouldStop: () => Promise<boolean>;
}

/**
 * Fits the spec's detectors and evaluates them at every ε > 0 on the curve's test subset:
 * the evaluation's attacks crafted once per batch and judged by every detector, then a
 * detector-aware PGD per detector. Returns null when stopped (cancellation).
 */
export async function runDetectionStage({ spec, model, train, examples, onProgress, shouldStop }: DetectionStageOptions): Promise<DetectionResult | null> {
  const stack = await fitDetectionStack({ model, spec, detectors: spec.detectors, data: detectionData(train, spec) });
  try {
    const epsilons = spec.epsilons.filter((e) => e > 0);
    const perEpsilon: DetectionEvaluation[][] = [];
    for (const [i, epsilon] of epsilons.entries()) {
      const { evaluations, stopped } = await evaluateDetection({
        defended: stack.defended,
        detectors: stack.detectors,
        dataset: examples,
        epsilon,
        norm: spec.norm,
        attacks: spec.attacks,
        params: spec.params,
        adaptive: spec.detectorAware,
        seed: spec.seed,
        onProgress: (fraction) => onProgress((i + fraction) / epsilons.length),
        shouldStop,
      });
      if (stopped) return null;
      perEpsilon.push(evaluations);
    }
    const validation = stack.detectors[0].describe().validation;
    return detectionResult({ validation: { n: validation.n, seed: spec.seed }, detectors: stack.detectors.map((d) => d.describe()), perEpsilon });
  } finally {
    stack.dispose();
  }
}
