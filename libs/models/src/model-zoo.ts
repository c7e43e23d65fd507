import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import { createRng } from '@bulwark/data';
import { MIN_INPUT_SIZE, MODEL_NAMES, type ModelName } from '@bulwark/spec';

export interface ModelSpec {
  name: ModelName;
  /** [H, W, C] of one input. */
  inputShape: [number, number, number];
  numClasses: number;
  /** Seeds every initialiser: the same spec always yields the same initial weights. */
  seed: number;
}

/** Re-exported from the spec, where the API checks it at submit time. */
export { MIN_INPUT_SIZE };

export function isModelName(value: string): value is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(value);
}

type Activation = 'relu' | 'linear';
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * Classifiers that output logits (no softmax layer): attacks and losses take logits.
 * Layer names are fixed, not tfjs's global counters, so a checkpoint's tensor names read
 * the same in every process.
 *
 * - `mlp`: 256-256 ReLU MLP. `cnn-small`: the PyTorch reference CNN of the benchmark.
 * - `cnn-wong`: Wong & Kolter (2018)'s MNIST network; 'same' padding is their padding=1 on
 *   even sizes.
 * - `cnn-madry`: Madry et al. (2018)'s MNIST network.
 * - `lenet5`: LeNet-5 with ReLU and max pooling (the variant robustness papers train, not
 *   the tanh / subsampling original). conv1 pads 'same', which on 28×28 equals the
 *   original's 32×32 padded digit; on larger inputs dense1's fan-in grows.
 * - `resnet-small`: He et al. (2016)'s CIFAR ResNet-20 (3 stages × 3 basic blocks,
 *   16/32/64 channels, batch norm, global average pooling, parameter-free shortcuts: the
 *   paper's option A, subsampled and zero-padded in channels). Accepts any H×W×C from
 *   8×8 up, so it also runs on single-channel digits.
 */
export function createModel(spec: ModelSpec): tf.LayersModel {
  if (!isModelName(spec.name)) {
    throw new Error(`unknown model '${String(spec.name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new Error(`numClasses must be an integer >= 2, got ${spec.numClasses}`);
  }
  assertInputShapeFits(spec);
  // One derived seed per layer: reusing a seed would give layers of equal shape equal weights.
  const seeds = createRng(spec.seed);
  const glorot = () => tf.initializers.glorotUniform({ seed: seeds.int(2 ** 31) });
  const dense = (name: string, units: number, activation: Activation) =>
    tf.layers.dense({ name, units, activation, kernelInitializer: glorot(), biasInitializer: 'zeros' });
  const conv = (name: string, filters: number, kernelSize: number, options: { strides?: number; padding: 'same' | 'valid' }) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize,
      ...options,
      activation: 'relu',
      kernelInitializer: glorot(),
      biasInitializer: 'zeros',
    });
  const maxPool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 2 });

  if (spec.name === 'resnet-small') {
    return resnet20(spec, () => tf.initializers.heNormal({ seed: seeds.int(2 ** 31) }), glorot);
  }
  const model = tf.sequential({ name: spec.name });
  model.add(tf.layers.inputLayer({ name: 'input', inputShape: spec.inputShape }));
  switch (spec.name) {
    case 'mlp':
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 256, 'relu'));
      model.add(dense('dense2', 256, 'relu'));
      break;
    case 'cnn-small':
      model.add(conv('conv1', 32, 3, { padding: 'valid' }));
      model.add(maxPool('pool1'));
      model.add(conv('conv2', 64, 3, { padding: 'valid' }));
      model.add(maxPool('pool2'));
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 128, 'relu'));
      break;
    case 'cnn-wong':
      model.add(conv('conv1', 16, 4, { strides: 2, padding: 'same' }));
      model.add(conv('conv2', 32, 4, { strides: 2, padding: 'same' }));
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 100, 'relu'));
      break;
    case 'cnn-madry':
      model.add(conv('conv1', 32, 5, { padding: 'same' }));
      model.add(maxPool('pool1'));
      model.add(conv('conv2', 64, 5, { padding: 'same' }));
      model.add(maxPool('pool2'));
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 1024, 'relu'));
      break;
    case 'lenet5':
      model.add(conv('conv1', 6, 5, { padding: 'same' }));
      model.add(maxPool('pool1'));
      model.add(conv('conv2', 16, 5, { padding: 'valid' }));
      model.add(maxPool('pool2'));
      model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(dense('dense1', 120, 'relu'));
      model.add(dense('dense2', 84, 'relu'));
      break;
  }
  model.add(dense('logits', spec.numClasses, 'linear'));
  return model;
}

function assertInputShapeFits({ name, inputShape }: ModelSpec): void {
  // Specs also arrive as JSON: the tuple type is checked, not assumed.
  const dims: readonly unknown[] = inputShape;
  const valid = Array.isArray(inputShape) && dims.length === 3 && inputShape.every((dim) => Number.isInteger(dim) && dim > 0);
  if (!valid) {
    throw new Error(`model ${name} needs an input shape [H, W, C] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const [height, width] = inputShape;
  const min = MIN_INPUT_SIZE[name];
  if (height < min || width < min) {
    throw new Error(`model ${name} needs inputs of at least ${min}×${min}×C, got [${inputShape.join(', ')}]`);
  }
}

const RESNET_STAGE_FILTERS = [16, 32, 64];
const RESNET_BLOCKS_PER_STAGE = 3;

function resnet20(spec: ModelSpec, convInitializer: () => Initializer, denseInitializer: () => Initializer): tf.LayersModel {
  const convBn = (name: string, x: tf.SymbolicTensor, filters: number, strides: number): tf.SymbolicTensor => {
    // No conv bias: the batch norm's beta that follows would duplicate it.
    const conv = tf.layers.conv2d({
      name: `${name}_conv`,
      filters,
      kernelSize: 3,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: convInitializer(),
    });
    // PyTorch's defaults (momentum 0.1 there, epsilon 1e-5), as in the reference implementations.
    const norm = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 });
    return norm.apply(conv.apply(x)) as tf.SymbolicTensor;
  };
  const relu = (name: string, x: tf.SymbolicTensor) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ name: 'input', shape: spec.inputShape });
  let x = relu('stem_relu', convBn('stem', input, RESNET_STAGE_FILTERS[0], 1));
  RESNET_STAGE_FILTERS.forEach((filters, stage) => {
    for (let block = 0; block < RESNET_BLOCKS_PER_STAGE; block += 1) {
      const name = `stage${stage + 1}_block${block + 1}`;
      const strides = stage > 0 && block === 0 ? 2 : 1;
      const residual = convBn(`${name}_b`, relu(`${name}_a_relu`, convBn(`${name}_a`, x, filters, strides)), filters, 1);
      const shortcut = strides === 1 ? x : optionAShortcut(name, x, filters, strides);
      x = relu(`${name}_relu`, tf.layers.add({ name: `${name}_add` }).apply([residual, shortcut]) as tf.SymbolicTensor);
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const logits = tf.layers
    .dense({ name: 'logits', units: spec.numClasses, kernelInitializer: denseInitializer(), biasInitializer: 'zeros' })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ name: spec.name, inputs: input, outputs: logits });
}

/**
 * x[:, ::s, ::s, :] zero-padded to `filters` channels, from stock layers only so that any
 * tfjs (or Keras) app can load an exported model: a 1×1 pool with stride s subsamples, and
 * the channel padding is a ZeroPadding2D applied with channels swapped into a spatial axis.
 */
function optionAShortcut(name: string, x: tf.SymbolicTensor, filters: number, strides: number): tf.SymbolicTensor {
  const channels = x.shape[3] as number;
  const extra = filters - channels;
  const before = Math.floor(extra / 2);
  let y = tf.layers.maxPooling2d({ name: `${name}_shortcut_subsample`, poolSize: 1, strides }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.permute({ name: `${name}_shortcut_swap_in`, dims: [1, 3, 2] }).apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .zeroPadding2d({
      name: `${name}_shortcut_pad`,
      padding: [
        [0, 0],
        [before, extra - before],
      ],
    })
    .apply(y) as tf.SymbolicTensor;
  return tf.layers.permute({ name: `${name}_shortcut_swap_out`, dims: [1, 3, 2] }).apply(y) as tf.SymbolicTensor;
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

/** The variables behind the model's trainable weights: what an optimizer's varList takes. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => {
    const value = weight.read();
    if (!isVariable(value)) throw new Error(`weight ${weight.name} of model ${model.name} is not a variable`);
    return value;
  });
}

// A guard of its own: `instanceof tf.Variable` narrows to Variable<any>.
function isVariable(tensor: tf.Tensor): tensor is tf.Variable {
  return tensor instanceof tf.Variable;
}
