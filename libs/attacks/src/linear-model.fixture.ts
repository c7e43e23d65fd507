import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from './logits-model';

/**
 * logits = flatten(x) · W + b with weights the test chooses, so gradients are known in
 * closed form. `weights` is [inputSize][numClasses].
 */
export function linearModel(weights: number[][], bias?: number[]): { model: LogitsModel; dispose: () => void } {
  const w = tf.tensor2d(weights);
  const b = tf.tensor1d(bias ?? new Array<number>(weights[0].length).fill(0));
  const model: LogitsModel = (inputs) => tf.tidy(() => tf.add<tf.Tensor2D>(tf.matMul(tf.reshape(inputs, [inputs.shape[0], -1]), w), b));
  return { model, dispose: () => tf.dispose([w, b]) };
}
