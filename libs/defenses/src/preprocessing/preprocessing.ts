import * as tf from '@tensorflow/tfjs';
import { bpdaTransform, createSeededRandom, type InputTransform, type RandomTransform } from '@bulwark/attacks';
import type { PreprocessingStep } from '@bulwark/spec';

/**
 * How an honest evaluation must attack through a step (ARCHITECTURE.md: a defense that
 * hides gradients is evaluated adaptively). 'exact': its tfjs gradient is the true one.
 * 'bpda': forward is the step, backward `approximation`'s gradient. 'eot': the step is
 * random; average over draws of `randomTransform`.
 */
export type AdaptiveTreatment = 'exact' | 'bpda' | 'eot';

export interface Preprocessing {
  /** Every field needed to rebuild the step with `createPreprocessing`, nothing else. */
  spec: PreprocessingStep;
  /**
   * The step as deployed, on a batch in [0,1]. Randomised steps draw fresh randomness on
   * every call (a counter-driven seed), so two forward passes on the same input differ.
   */
  apply: InputTransform;
  treatment: AdaptiveTreatment;
  /** For 'bpda': the differentiable g ≈ f whose gradient the attack uses (identity = straight-through). */
  approximation?: InputTransform;
  /** For 'eot': the same random step with its draw fixed by `seed`. */
  randomTransform?: RandomTransform;
  /** The step exists to hide gradients (a demonstration of masking, not a defense). */
  masksGradients: boolean;
  /** Per-call cost outside tfjs kernels, where there is one (JPEG): shown to whoever runs it at scale. */
  cost?: string;
}

export const identityTransform: InputTransform = (x) => tf.clone(x);

/** Applies the steps in order, as deployed. */
export function applyPreprocessing(steps: readonly Preprocessing[], inputs: tf.Tensor): tf.Tensor {
  if (steps.length === 0) return tf.clone(inputs);
  return tf.tidy(() => steps.reduce<tf.Tensor>((x, step) => step.apply(x), inputs));
}

/**
 * The steps as an adaptive attacker sees them, for one draw `seed`: BPDA where the step is
 * gradient-free, the seeded draw where it is random, the step itself otherwise. Each random
 * step gets its own seed derived from `seed`, so two steps never share a draw.
 */
export function adaptivePreprocessing(steps: readonly Preprocessing[]): RandomTransform {
  const transforms = steps.map((step): RandomTransform => {
    switch (step.treatment) {
      case 'exact':
        return (x) => step.apply(x);
      case 'bpda':
        return bpdaTransform(step.apply, step.approximation);
      case 'eot': {
        const random = step.randomTransform;
        if (random === undefined) throw new Error(`${step.spec.kind}: an 'eot' step needs a randomTransform`);
        return random;
      }
    }
  });
  return (inputs, seed) =>
    tf.tidy(() => {
      const rng = createSeededRandom(seed);
      return transforms.reduce<tf.Tensor>((x, transform) => transform(x, rng.tensorSeed()), inputs);
    });
}

export function isRandomised(steps: readonly Preprocessing[]): boolean {
  return steps.some((s) => s.treatment === 'eot');
}

/**
 * A source of fresh seeds for the deployed (truly random) form of a randomised step: a
 * seeded generator advanced on every call, so a run is reproducible from its seed while two
 * forward passes still see different draws.
 */
export function seedCounter(seed: number): () => number {
  const rng = createSeededRandom(seed);
  return () => rng.tensorSeed();
}

export function assertBatchImages(inputs: tf.Tensor, what: string): asserts inputs is tf.Tensor4D {
  if (inputs.rank !== 4) throw new Error(`${what} needs a batch of images [B, H, W, C], got [${inputs.shape}]`);
}

export function assertInteger(value: number, min: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}
