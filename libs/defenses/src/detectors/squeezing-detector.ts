import * as tf from '@tensorflow/tfjs';
import { bpdaTransform, type InputTransform, type LogitsModel } from '@bulwark/attacks';
import type { ScoreFunctions } from './detector';
import { detectorPaths } from './detector-paths';
import type { Preprocessing } from '../preprocessing/preprocessing';
import { DEFAULT_SQUEEZERS } from '@bulwark/spec';
import { createPreprocessing } from '../create-defense';

/** Xu et al. (2018)'s best MNIST configuration: 1-bit depth and a 2×2 median filter. */
export function defaultSqueezers(): Preprocessing[] {
  return DEFAULT_SQUEEZERS.map(createPreprocessing);
}

/**
 * max over squeezers of ‖softmax(f(x)) − softmax(f(squeeze(x)))‖₁, with the original and
 * every squeezed copy classified in one batched forward pass.
 */
export function squeezingScore(model: LogitsModel, squeezers: readonly InputTransform[], inputs: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = inputs.shape[0];
    const copies = [inputs, ...squeezers.map((squeeze) => squeeze(inputs))];
    const probabilities = tf.softmax(model(tf.concat(copies, 0)));
    const original = tf.slice(probabilities, [0, 0], [batch, -1]);
    const distances = squeezers.map((_, k) => tf.sum(tf.abs(tf.sub(original, tf.slice(probabilities, [(k + 1) * batch, 0], [batch, -1]))), 1));
    return tf.max<tf.Tensor1D>(tf.stack(distances, 1), 1);
  });
}

/**
 * The feature-squeezing detector of Xu et al. (2018). The attacker's score goes through the
 * squeezers by BPDA (their approximation, the identity for bit depth and median), which is
 * how He et al. (2017) and Athalye et al. (2018) got past it.
 */
export function squeezingScores({
  model,
  preprocessing,
  squeezers,
  seed,
}: {
  model: LogitsModel;
  preprocessing: readonly Preprocessing[];
  squeezers: readonly Preprocessing[];
  seed: number;
}): ScoreFunctions {
  if (squeezers.length === 0) throw new Error('feature-squeezing detector needs at least one squeezer');
  for (const s of squeezers) if (s.treatment === 'eot') throw new Error(`squeezer ${s.spec.kind} is random; a squeezer must be deterministic`);
  const paths = detectorPaths(model, preprocessing, seed);
  const exact = squeezers.map((s) => s.apply);
  const attack = squeezers.map((s) => (s.treatment === 'bpda' ? bpdaTransform(s.apply, s.approximation) : s.apply));
  return {
    score: (inputs) => squeezingScore(paths.exact, exact, inputs),
    attackScore: (inputs) => squeezingScore(paths.attack, attack, inputs),
    params: { squeezers: squeezers.map((s) => ({ ...s.spec })), distance: 'L1 between softmax outputs, max over squeezers' },
    dispose: () => undefined,
  };
}
