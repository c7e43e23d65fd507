import * as tf from '@tensorflow/tfjs';
import { readAndDispose, type LogitsModel } from '@bulwark/attacks';
import type { Dataset } from '@bulwark/data';
import { createDefense } from './create-defense';
import type { DefenseSpec, DetectorDescription } from '@bulwark/spec';
import type { DefendedModel, DefenseDescription } from './defended-model';
import type { Detector } from './detectors/detector';
import { fitDetectorFromSpec, type DetectorSpec } from './detectors/fit-detector';

/** What a deployed stack answers per example: a class, or a refusal with the detector's score. */
export type StackPrediction = { rejected: false; label: number; score: number | null } | { rejected: true; score: number };

/** preprocessing → model → detector, as a job payload configures it in one run. */
export interface DefenseStackSpec {
  defense: DefenseSpec;
  detector?: DetectorSpec;
}

export interface DefenseStackDescription {
  defense: DefenseDescription;
  detector: DetectorDescription | null;
}

export interface DefenseStack {
  /** The classifier with its preprocessing (and any logits squash). */
  defended: DefendedModel;
  detector?: Detector;
  description: DefenseStackDescription;
  /** Per example: rejected as adversarial by the detector, else the defended model's class. */
  predict(inputs: tf.Tensor): Promise<StackPrediction[]>;
  /** Frees the detector's tensors; the classifier's weights stay with their owner. */
  dispose(): void;
}

/** Assembles a stack from a defended model and, optionally, a detector fitted to it. */
export function createDefenseStack({ defended, detector }: { defended: DefendedModel; detector?: Detector }): DefenseStack {
  return {
    defended,
    detector,
    description: { defense: defended.description, detector: detector ? detector.describe() : null },
    predict: async (inputs) => {
      const labels = Array.from(await readAndDispose(tf.tidy(() => tf.argMax(defended.model(inputs), 1))));
      if (!detector) return labels.map((label) => ({ rejected: false, label, score: null }));
      const scores = Array.from(await readAndDispose(detector.score(inputs)));
      return labels.map((label, i) => (scores[i] > detector.threshold ? { rejected: true, score: scores[i] } : { rejected: false, label, score: scores[i] }));
    },
    dispose: () => detector?.dispose(),
  };
}

export interface FitDefenseStackOptions {
  /** The classifier (a LayersModel is required for a Mahalanobis detector). */
  model: tf.LayersModel | LogitsModel;
  spec: DefenseStackSpec;
  /** Clean held-out data for the detector's threshold. */
  validation?: Dataset;
  /** Labelled clean data for a Mahalanobis detector's class statistics (training data, ideally). */
  statistics?: Dataset;
  batchSize?: number;
  seed?: number;
}

/**
 * Builds a whole stack from its spec: the preprocessing and squash around `model`, then the
 * detector fitted behind the same preprocessing (see fitStackDetector).
 */
export async function fitDefenseStack({ model, spec, validation, statistics, batchSize, seed }: FitDefenseStackOptions): Promise<DefenseStack> {
  const defended = createDefense({ model, spec: spec.defense });
  if (!spec.detector) return createDefenseStack({ defended });
  if (!validation) throw new Error('a stack with a detector needs clean validation data for its threshold');
  return createDefenseStack({ defended, detector: await fitStackDetector({ model, defended, spec: spec.detector, validation, statistics, batchSize, seed }) });
}

export interface FitStackDetectorOptions {
  /** The bare classifier (a LayersModel is required for a Mahalanobis detector). */
  model: tf.LayersModel | LogitsModel;
  /** `model` behind the stack's defense (createDefense). */
  defended: DefendedModel;
  spec: DetectorSpec;
  /** Clean held-out data for the threshold. */
  validation: Dataset;
  /** Labelled clean data for a Mahalanobis detector's class statistics (training data, ideally). */
  statistics?: Dataset;
  batchSize?: number;
  seed?: number;
}

/**
 * A detector fitted behind a defended model: it sees what the classifier sees (the same
 * preprocessing); confidence and squeezing read the classifier's output after any squash, as
 * deployed; Mahalanobis reads the bare model's penultimate features. Several detectors fitted
 * this way to one defended model can be evaluated together (evaluateDetection).
 */
export function fitStackDetector({ model, defended, spec, validation, statistics, batchSize, seed }: FitStackDetectorOptions): Promise<Detector> {
  const { classifier, logits } = defended;
  const squashed: LogitsModel = logits ? (x) => tf.tidy(() => logits.apply(classifier(x))) : classifier;
  return fitDetectorFromSpec({
    spec,
    model: spec.kind === 'mahalanobis' ? model : squashed,
    preprocessing: defended.preprocessing,
    validation,
    statistics,
    batchSize,
    seed,
  });
}
