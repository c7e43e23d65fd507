import * as tf from '@tensorflow/tfjs';
import { seedCounter, type Preprocessing } from './preprocessing';

/** x + N(0, σ²) per pixel for the draw `seed`, clipped back into [0,1] where inputs live. */
export function addGaussianNoise(inputs: tf.Tensor, sigma: number, seed: number): tf.Tensor {
  assertSigma(sigma);
  return tf.tidy(() => tf.clipByValue(tf.add(inputs, tf.randomNormal(inputs.shape, 0, sigma, 'float32', seed)), 0, 1));
}

/**
 * Random Gaussian noise at inference. Deployed, every forward pass takes the next seed of
 * a counter started at `seed`, so the model is truly random (two passes on one input
 * differ) yet a run replays from its seed. Differentiable: the adaptive attack is EOT over
 * the same noise (Athalye et al. 2018), not BPDA.
 */
export function gaussianNoisePreprocessing({ sigma, seed }: { sigma: number; seed: number }): Preprocessing {
  assertSigma(sigma);
  const next = seedCounter(seed);
  return {
    spec: { kind: 'gaussian-noise', sigma, seed },
    apply: (x) => addGaussianNoise(x, sigma, next()),
    treatment: 'eot',
    randomTransform: (x, drawSeed) => addGaussianNoise(x, sigma, drawSeed),
    masksGradients: false,
  };
}

function assertSigma(sigma: number): void {
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`sigma must be a finite number > 0, got ${sigma}`);
}
