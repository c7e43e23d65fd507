import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from './logits-model';
import { createSeededRandom } from './seeded-random';

/** A randomised input transformation; `seed` fixes its draw so that runs are reproducible. */
export type RandomTransform = (inputs: tf.Tensor, seed: number) => tf.Tensor;

export interface EotOptions {
  /** The classifier behind the randomised transformation. */
  model: LogitsModel;
  /** The defense's randomness (noise, random resizing…). Wrap a non-differentiable one with `bpdaTransform`. */
  transform: RandomTransform;
  /** Draws averaged per forward pass (default 10). */
  samples?: number;
  /** Seeds the sequence of draws (default 0): the same calls give the same logits. */
  seed?: number;
  /**
   * 'logits' (default): the mean of the logits over the draws. 'probabilities': the log of
   * the mean softmax, i.e. the expected classifier's log-probabilities.
   */
  average?: 'logits' | 'probabilities';
}

/**
 * Expectation over Transformation (Athalye et al., ICML 2018) as a LogitsModel: each
 * forward pass evaluates `samples` independent draws of the transform in one batch and
 * averages, so the input gradient any attack takes through it is the gradient averaged over
 * the draws. Every gradient attack accepts it; success is then judged on the averaged model,
 * so re-check adversarial inputs on the randomised model itself before reporting them.
 */
export function eot({ model, transform, samples = 10, seed = 0, average = 'logits' }: EotOptions): LogitsModel {
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`eot: samples must be a positive integer, got ${samples}`);
  if (!(['logits', 'probabilities'] as const).includes(average)) throw new Error(`eot: unknown average '${average}'`);
  const rng = createSeededRandom(seed);
  return (inputs) => {
    const seeds = Array.from({ length: samples }, () => rng.tensorSeed());
    return tf.tidy(() => {
      const batch = inputs.shape[0];
      const draws = tf.concat(
        seeds.map((s) => transform(inputs, s)),
        0,
      );
      const logits = model(draws);
      const perDraw = tf.reshape(logits, [samples, batch, logits.shape[1]]);
      if (average === 'logits') return tf.mean<tf.Tensor2D>(perDraw, 0);
      return tf.log(tf.add(tf.mean(tf.softmax(perDraw), 0), 1e-30)) as tf.Tensor2D;
    });
  };
}
