import * as tf from '@tensorflow/tfjs';
import { linearModel } from './linear-model.fixture';
import { accuracy, predictLabels } from './logits-model';
import { softmaxCrossEntropy } from './softmax-cross-entropy';

describe('logits helpers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('predicts the arg-max class and measures accuracy against labels', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.9, 0.1],
      [0.2, 0.8],
      [0.7, 0.3],
    ]);
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const predicted = predictLabels({ model, inputs });

    expect(Array.from(predicted.dataSync())).toEqual([0, 1, 0]);
    expect(predicted.dtype).toBe('int32');
    expect(await accuracy({ model, inputs, labels })).toBeCloseTo(2 / 3, 10);
    tf.dispose([inputs, labels, predicted]);
    dispose();
  });

  it('computes per-example softmax cross-entropy stably from logits', () => {
    const logits = tf.tensor2d([
      [2, 0],
      [1000, 0],
    ]);
    const labels = tf.tensor1d([0, 1], 'int32');
    const loss = softmaxCrossEntropy({ logits, labels });

    const [small, huge] = Array.from(loss.dataSync());
    expect(small).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
    expect(huge).toBeCloseTo(1000, 3);
    tf.dispose([logits, labels, loss]);
  });
});
