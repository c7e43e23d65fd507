import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from './logits-model';

export type InputTransform = (inputs: tf.Tensor) => tf.Tensor;

export interface BpdaOptions {
  /** The classifier that receives the preprocessed inputs. */
  model: LogitsModel;
  /** The defense's preprocessing f (quantisation, JPEG, thresholding…): used for the forward pass. */
  preprocess: InputTransform;
  /**
   * A differentiable g ≈ f whose gradient replaces f's on the backward pass. Default: the
   * identity, i.e. the straight-through estimator, right whenever f(x) ≈ x.
   */
  approximation?: InputTransform;
}

/** Identity forward, zero gradient: tf.stopGradient, which tfjs lacks. */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Backward Pass Differentiable Approximation (Athalye, Carlini & Wagner, ICML 2018) of a
 * preprocessing step: forward exactly f(x), backward ∇g. Computed as
 * g(x) − stop(g(x)) + stop(f(x)): the first difference is exactly 0 for finite g, so the
 * value is f(x) bit for bit, and only g's branch carries a gradient.
 */
export function bpdaTransform(preprocess: InputTransform, approximation: InputTransform = (x) => x): InputTransform {
  return (inputs) =>
    tf.tidy(() => {
      const surrogate = approximation(inputs);
      const exact = preprocess(inputs);
      if (!tf.util.arraysEqual(surrogate.shape, exact.shape)) {
        throw new Error(`bpda: the approximation's shape [${surrogate.shape}] differs from the preprocessing's [${exact.shape}]`);
      }
      return tf.add(tf.sub(surrogate, stopGradient(surrogate)), stopGradient(exact));
    });
}

/**
 * The defended classifier model(f(x)) with f's gradient replaced by BPDA, as a LogitsModel:
 * every gradient attack accepts it (`pgd({ model: bpda({ model, preprocess }), … })`), and
 * it composes with `eot` in either order.
 */
export function bpda({ model, preprocess, approximation }: BpdaOptions): LogitsModel {
  const transform = bpdaTransform(preprocess, approximation);
  return (inputs) => tf.tidy(() => model(transform(inputs)));
}
