import type * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import type { Dataset } from '@bulwark/data';
import { confidenceScores } from './confidence-detector';
import { createPreprocessing } from '../create-defense';
import { toLogitsModel } from '../defended-model';
import { thresholdDetector, type Detector } from './detector';
import { mahalanobisScores } from './mahalanobis-detector';
import { DEFAULT_DETECTOR_FPR, type DetectorKind, type DetectorRunSpec } from '@bulwark/spec';
import type { Preprocessing } from '../preprocessing/preprocessing';
import { defaultSqueezers, squeezingScores } from './squeezing-detector';

/** A detector as configured: as an evaluation stores it, or with any option left to its default. */
export type DetectorSpec = { [K in DetectorKind]: { kind: K } & Partial<Omit<Extract<DetectorRunSpec, { kind: K }>, 'kind'>> }[DetectorKind];

interface CommonFitOptions {
  /** Clean held-out data: the threshold is set so that a fraction `fpr` of it is rejected. */
  validation: Dataset;
  /** Target false-positive rate on `validation` (default DEFAULT_DETECTOR_FPR). */
  fpr?: number;
  /** The stack's preprocessing in front of the model, if any: the detector sees what the model sees. */
  preprocessing?: readonly Preprocessing[];
  batchSize?: number;
  /** Seeds the attacker-side draws of random preprocessing (default 0). */
  seed?: number;
}

export type FitDetectorOptions = CommonFitOptions &
  (
    | { kind: 'confidence'; model: tf.LayersModel | LogitsModel }
    | { kind: 'feature-squeezing'; model: tf.LayersModel | LogitsModel; squeezers?: readonly Preprocessing[] }
    | {
        kind: 'mahalanobis';
        model: tf.LayersModel;
        /** Labelled clean data for the class statistics; default `validation` (better: training data, so the threshold is set out of sample). */
        statistics?: Dataset;
        featureLayer?: string;
        shrinkage?: number;
      }
  );

/** Fits a detector of `kind` to `model` and sets its threshold for `fpr` false positives on `validation`. */
export async function fitDetector(options: FitDetectorOptions): Promise<Detector> {
  const { validation, fpr = DEFAULT_DETECTOR_FPR, preprocessing = [], batchSize = 256, seed = 0 } = options;
  if (!(fpr > 0 && fpr < 1)) throw new Error(`fpr must be in (0, 1), got ${fpr}`);
  if (validation.size === 0) throw new Error('fitDetector: empty validation set');
  const functions = await (async () => {
    switch (options.kind) {
      case 'confidence':
        return confidenceScores({ model: toLogitsModel(options.model), preprocessing, seed });
      case 'feature-squeezing':
        return squeezingScores({ model: toLogitsModel(options.model), preprocessing, squeezers: options.squeezers ?? defaultSqueezers(), seed });
      case 'mahalanobis':
        return mahalanobisScores({ ...options, preprocessing, statistics: options.statistics ?? validation, batchSize, seed });
      default:
        throw new Error(`unknown detector kind '${String((options as { kind: unknown }).kind)}'`);
    }
  })();
  try {
    return await thresholdDetector({ kind: options.kind, functions, validation, fpr, preprocessing: preprocessing.map((s) => ({ ...s.spec })), batchSize });
  } catch (error) {
    functions.dispose();
    throw error;
  }
}

export interface FitDetectorFromSpecOptions extends Omit<CommonFitOptions, 'fpr'> {
  spec: DetectorSpec;
  model: tf.LayersModel | LogitsModel;
  /** For 'mahalanobis': the class statistics' data. */
  statistics?: Dataset;
}

/** `fitDetector` from a stored spec; 'mahalanobis' needs `model` to be a LayersModel. */
export async function fitDetectorFromSpec({ spec, model, statistics, ...common }: FitDetectorFromSpecOptions): Promise<Detector> {
  switch (spec.kind) {
    case 'confidence':
      return fitDetector({ ...common, kind: 'confidence', model, fpr: spec.fpr });
    case 'feature-squeezing':
      return fitDetector({ ...common, kind: 'feature-squeezing', model, fpr: spec.fpr, squeezers: spec.squeezers?.map(createPreprocessing) });
    case 'mahalanobis':
      if (typeof model === 'function') throw new Error('a mahalanobis detector needs the tf.LayersModel (it reads penultimate features)');
      return fitDetector({ ...common, kind: 'mahalanobis', model, fpr: spec.fpr, statistics, featureLayer: spec.featureLayer, shrinkage: spec.shrinkage });
    default:
      throw new Error(`unknown detector kind '${String((spec as { kind: unknown }).kind)}'`);
  }
}
