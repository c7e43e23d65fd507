import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '@bulwark/attacks';
import { makeBatch, sequentialBatches, type Dataset } from '@bulwark/data';
import { thresholdAtFpr } from './detection-metrics';
import type { DetectorDescription, DetectorKind, PreprocessingStep } from '@bulwark/spec';

/**
 * Scores inputs (higher = more likely adversarial) and rejects those above a threshold set
 * on clean validation data for a target false-positive rate.
 */
export interface Detector {
  readonly kind: DetectorKind;
  readonly threshold: number;
  /** The exact score, [B]: what the deployed stack compares with the threshold. */
  score(inputs: tf.Tensor): tf.Tensor1D;
  /**
   * The score as an adaptive attacker differentiates it: the same value, with BPDA through
   * gradient-free steps (squeezers, preprocessing) and one fresh draw of random ones per call.
   */
  attackScore(inputs: tf.Tensor): tf.Tensor1D;
  /** Per example: score above the threshold. */
  reject(inputs: tf.Tensor): Promise<boolean[]>;
  describe(): DetectorDescription;
  /** Frees the detector's own tensors (never the classifier's weights). */
  dispose(): void;
}

/** What each kind provides before a threshold is set. */
export interface ScoreFunctions {
  score: (inputs: tf.Tensor) => tf.Tensor1D;
  attackScore: (inputs: tf.Tensor) => tf.Tensor1D;
  params: Record<string, unknown>;
  dispose: () => void;
}

export interface ThresholdOptions {
  kind: DetectorKind;
  functions: ScoreFunctions;
  validation: Dataset;
  fpr: number;
  preprocessing: PreprocessingStep[];
  batchSize: number;
}

/** Scores every example of `dataset`, in batches. */
export async function scoreDataset(score: (inputs: tf.Tensor) => tf.Tensor1D, dataset: Dataset, batchSize: number): Promise<Float32Array> {
  const scores = new Float32Array(dataset.size);
  for (const { indices } of sequentialBatches(dataset, batchSize)) {
    const { x, y } = makeBatch(dataset, indices);
    const values = tf.tidy(() => score(x));
    tf.dispose([x, y]);
    scores.set(await readAndDispose(values), indices[0]);
  }
  return scores;
}

/** Sets the threshold on the clean validation scores and wraps the score functions as a Detector. */
export async function thresholdDetector({ kind, functions, validation, fpr, preprocessing, batchSize }: ThresholdOptions): Promise<Detector> {
  const scores = await scoreDataset(functions.score, validation, batchSize);
  if (scores.some((s) => !Number.isFinite(s))) throw new Error(`${kind} detector: non-finite score on the validation data`);
  const threshold = thresholdAtFpr(scores, fpr);
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const spread = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const description: DetectorDescription = {
    kind,
    threshold,
    targetFpr: fpr,
    validationFpr: scores.filter((s) => s > threshold).length / scores.length,
    validation: { name: validation.name, n: validation.size },
    scoreScale: spread > 0 ? spread : 1,
    preprocessing,
    params: functions.params,
  };
  return {
    kind,
    threshold,
    score: (inputs) => tf.tidy(() => functions.score(inputs)),
    attackScore: (inputs) => tf.tidy(() => functions.attackScore(inputs)),
    reject: async (inputs) => Array.from(await readAndDispose(tf.tidy(() => tf.greater(functions.score(inputs), threshold))), (v) => v === 1),
    describe: () => structuredClone(description),
    dispose: functions.dispose,
  };
}
