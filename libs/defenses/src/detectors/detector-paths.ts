import * as tf from '@tensorflow/tfjs';
import { adaptivePreprocessing, applyPreprocessing, seedCounter, type Preprocessing } from '../preprocessing/preprocessing';

export interface DetectorPaths<T> {
  /** f(preprocessing(x)) exactly as deployed. */
  exact: (inputs: tf.Tensor) => T;
  /** f(preprocessing(x)) as an adaptive attacker differentiates it: BPDA steps, one fresh draw of random steps per call. */
  attack: (inputs: tf.Tensor) => T;
}

/**
 * Puts a detector's network behind the stack's preprocessing, twice: as deployed, and as the
 * adaptive attacker sees it. A random step gets one draw per attack call, so PGD averages
 * over draws across its iterations (EOT with one sample per step) at no extra cost.
 */
export function detectorPaths<T>(network: (inputs: tf.Tensor) => T, preprocessing: readonly Preprocessing[], seed: number): DetectorPaths<T> {
  if (preprocessing.length === 0) return { exact: network, attack: network };
  const adaptive = adaptivePreprocessing(preprocessing);
  const next = seedCounter(seed);
  return {
    exact: (inputs) => network(applyPreprocessing(preprocessing, inputs)),
    attack: (inputs) => network(adaptive(inputs, next())),
  };
}
