import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, type ModelName } from '@bulwark/spec';
import { applyModel, createModel, trainableVariables } from './model-zoo';
import { selectBackend } from '@bulwark/tfjs-runtime';

/**
 * Odd sizes where the architecture allows, so pools and strided convs leave rows over; small
 * ones, since the cpu backend's reference gradients cost about a microsecond per multiply-add
 * (resnet-small's 20 layers at 8×8 still take it ~4 s).
 */
const INPUT_SHAPE: Record<ModelName, [number, number, number]> = {
  mlp: [5, 5, 1],
  'cnn-small': [13, 13, 1],
  'cnn-wong': [11, 11, 1],
  'cnn-madry': [9, 9, 1],
  lenet5: [15, 15, 1],
  'resnet-small': [8, 8, 3],
};
const BATCH = 2;

/** Loss gradients of every trainable weight and of the input, in a fixed order. */
async function gradients(backend: 'cpu' | 'wasm', name: ModelName, input: Float32Array): Promise<Float32Array[]> {
  await selectBackend({ forced: backend, log: () => undefined });
  const inputShape = INPUT_SHAPE[name];
  const model = createModel({ name, inputShape, numClasses: 4, seed: 3 });
  const x = tf.variable(tf.tensor4d(input, [BATCH, ...inputShape]), true, `${name}_${backend}_input`);
  const labels = tf.oneHot(tf.tensor1d([0, 3], 'int32'), 4);
  const variables = [x, ...trainableVariables(model)];

  const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(labels, applyModel(model, x, true)), variables);

  const values = variables.map((v) => grads[v.name].dataSync() as Float32Array);
  tf.dispose([x, labels, ...Object.values(grads)]);
  model.dispose();
  return values;
}

describe('the model zoo trains on wasm', () => {
  it.each(MODEL_NAMES)('%s: wasm gives the cpu backend’s gradients for every weight and the input', async (name) => {
    const size = BATCH * INPUT_SHAPE[name].reduce((a, b) => a * b, 1);
    // Deterministic pseudo-random pixels in [0, 1).
    const input = Float32Array.from({ length: size }, (_, i) => Math.abs((Math.sin(i * 12.9898) * 43758.5453) % 1));

    const expected = await gradients('cpu', name, input);
    const actual = await gradients('wasm', name, input);

    const relativeErrors = actual.map((values, i) => {
      let diff = 0;
      let scale = 0;
      values.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(v - expected[i][j]));
        scale = Math.max(scale, Math.abs(expected[i][j]));
      });
      return diff / (scale || 1);
    });
    expect(relativeErrors.every((e) => e < 1e-4)).toBe(true);
    // A model whose gradients all vanished would pass the comparison trivially.
    expect(expected.every((values) => values.some((v) => v !== 0))).toBe(true);
  });
});
