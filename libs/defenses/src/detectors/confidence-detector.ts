import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import type { ScoreFunctions } from './detector';
import { detectorPaths } from './detector-paths';
import type { Preprocessing } from '../preprocessing/preprocessing';

/** 1 − max softmax probability: the baseline of Hendrycks & Gimpel (2017); higher = less confident. */
export function lowConfidence(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub<tf.Tensor1D>(1, tf.max(tf.softmax(logits), 1)));
}

/**
 * Confidence thresholding: reject when the top softmax probability falls below 1 − τ. The
 * score is differentiable, so the detector-aware attack descends it directly; high-confidence
 * adversarial examples (C&W with a confidence margin) are its known blind spot.
 */
export function confidenceScores({
  model,
  preprocessing,
  seed,
}: {
  model: LogitsModel;
  preprocessing: readonly Preprocessing[];
  seed: number;
}): ScoreFunctions {
  const paths = detectorPaths(model, preprocessing, seed);
  return {
    score: (inputs) => lowConfidence(paths.exact(inputs)),
    attackScore: (inputs) => lowConfidence(paths.attack(inputs)),
    params: { score: '1 - max softmax probability' },
    dispose: () => undefined,
  };
}
