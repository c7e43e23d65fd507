import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import { createRng } from '../rng';

export const MODEL_NAMES = ['mlp', 'cnn-small'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelSpec {
  name: ModelName;
  /** [H, W, C] of one input. */
  inputShape: [number, number, number];
  numClasses: number;
  /** Seeds every initialiser: the same spec always yields the same initial weights. */
  seed: number;
}

export function isModelName(value: string): value is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(value);
}

/**
 * Classifiers that output logits (no softmax layer): attacks and losses take logits.
 * Layer names are fixed, not tfjs's global counters, so a checkpoint's tensor names read
 * the same in every process.
 */
export function createModel(spec: ModelSpec): tf.LayersModel {
  if (!isModelName(spec.name)) {
    throw new Error(`unknown model '${String(spec.name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new Error(`numClasses must be an integer >= 2, got ${spec.numClasses}`);
  }
  // One derived seed per layer: reusing a seed would give layers of equal shape equal weights.
  const seeds = createRng(spec.seed);
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: seeds.int(2 ** 31) });
  const dense = (name: string, units: number, activation: 'relu' | 'linear') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: kernelInitializer(), biasInitializer: 'zeros' });
  const conv = (name: string, filters: number) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      padding: 'valid',
      activation: 'relu',
      kernelInitializer: kernelInitializer(),
      biasInitializer: 'zeros',
    });

  const model = tf.sequential({ name: spec.name });
  model.add(tf.layers.inputLayer({ name: 'input', inputShape: spec.inputShape }));
  switch (spec.name) {
    case 'mlp':
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 256, 'relu'));
      model.add(dense('dense2', 256, 'relu'));
      break;
    case 'cnn-small':
      model.add(conv('conv1', 32));
      model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
      model.add(conv('conv2', 64));
      model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 128, 'relu'));
      break;
  }
  model.add(dense('logits', spec.numClasses, 'linear'));
  return model;
}

/** Inference-mode view of a Keras-style model, for attacks and evaluation. */
export function asLogitsModel(model: tf.LayersModel): LogitsModel {
  return (inputs) => applyModel(model, inputs, false);
}

/** Forward pass that insists on a single rank-2 (logits) output. */
export function applyModel(model: tf.LayersModel, inputs: tf.Tensor, training: boolean): tf.Tensor2D {
  const output = model.apply(inputs, { training });
  if (!(output instanceof tf.Tensor) || output.rank !== 2) {
    throw new Error(`model ${model.name} must map a batch to one rank-2 logits tensor`);
  }
  return output as tf.Tensor2D;
}
