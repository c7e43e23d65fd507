import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, type ModelName } from '@bulwark/spec';
import { applyModel, createModel, MIN_INPUT_SIZE, trainableVariables } from './model-zoo';
import { selectBackend } from '@bulwark/tfjs-runtime';

/**
 * On the cpu backend, the reference the wasm training kernels are checked against
 * (backend/wasm-kernels/zoo-gradients.spec.ts). Tiny inputs and batches: cpu computes filter
 * gradients at about a microsecond per multiply-add.
 */
const INPUT_SHAPE: Record<ModelName, [number, number, number]> = {
  mlp: [4, 4, 1],
  'cnn-small': [MIN_INPUT_SIZE['cnn-small'], MIN_INPUT_SIZE['cnn-small'], 1],
  'cnn-wong': [8, 8, 1],
  'cnn-madry': [8, 8, 1],
  lenet5: [MIN_INPUT_SIZE.lenet5, MIN_INPUT_SIZE.lenet5, 1],
  'resnet-small': [MIN_INPUT_SIZE['resnet-small'], MIN_INPUT_SIZE['resnet-small'], 3],
};

describe('model zoo gradients', () => {
  beforeAll(async () => {
    await selectBackend({ forced: 'cpu', log: () => undefined });
    // The cpu backend's first tensor prints a "install tfjs-node" banner; nothing to act on here.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    tf.zeros([1]).dispose();
    warn.mockRestore();
  });

  it.each(MODEL_NAMES)('%s: every trainable weight and the input get a finite, non-zero loss gradient', (name) => {
    const inputShape = INPUT_SHAPE[name];
    const model = createModel({ name, inputShape, numClasses: 3, seed: 11 });
    // The input as a variable: one backward pass yields its gradient and the weights'.
    const x = tf.variable(tf.randomUniform([2, ...inputShape], 0, 1, 'float32', 12), true, `${name}_probe_input`);
    const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);

    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(labels, applyModel(model, x, true)),
      [x, ...trainableVariables(model)],
    );

    const summary = (values: tf.Tensor | undefined) => ({
      finite: values?.dataSync().every(Number.isFinite),
      nonZero: values?.dataSync().some((v) => v !== 0),
    });
    const report = [
      { weight: 'input', ...summary(grads[x.name]) },
      ...model.trainableWeights.map((w) => ({ weight: w.originalName, ...summary(grads[w.name]) })),
    ];
    expect(report).toEqual(report.map(({ weight }) => ({ weight, finite: true, nonZero: true })));
    tf.dispose([x, labels, ...Object.values(grads)]);
    model.dispose();
  });
});
