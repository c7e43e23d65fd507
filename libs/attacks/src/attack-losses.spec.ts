import * as tf from '@tensorflow/tfjs';
import { dlrObjective, dlrTargetedObjective, largestLogits, lossAndGradient, marginObjective } from './attack-losses';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearModel } from './linear-model.fixture';

describe('attack losses', () => {
  beforeAll(useCpuBackend);

  const logits = () =>
    tf.tensor2d([
      [4, 1, 3, 0, 2],
      [1, 5, 0, 2, 3],
    ]);

  it('DLR is −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3), positive exactly when misclassified', () => {
    const z = logits();
    const labels = tf.tensor1d([0, 0], 'int32');
    const value = dlrObjective(labels)(z);
    // Row 0: y is top: −(4 − 3)/(4 − 2). Row 1: y is fourth: −(1 − 5)/(5 − 2).
    expect(Array.from(value.dataSync())).toEqual([expect.closeTo(-0.5, 6), expect.closeTo(4 / 3, 6)]);
    tf.dispose([z, labels, value]);
  });

  it('targeted DLR is −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), and margin is max_{j≠y} z_j − z_y', () => {
    const z = logits();
    const labels = tf.tensor1d([0, 1], 'int32');
    const targets = tf.tensor1d([2, 4], 'int32');
    const dlrT = dlrTargetedObjective(labels, targets)(z);
    const margin = marginObjective(labels)(z);
    const towards = marginObjective(targets, true)(z);
    expect(Array.from(dlrT.dataSync())).toEqual([expect.closeTo(-(4 - 3) / (4 - 1.5), 6), expect.closeTo(-(5 - 3) / (5 - 1.5), 6)]);
    expect(Array.from(margin.dataSync())).toEqual([-1, -2]);
    expect(Array.from(towards.dataSync())).toEqual([-1, -2]);
    tf.dispose([z, labels, targets, dlrT, margin, towards]);
  });

  it('sorts the largest logits with gradients (tfjs has none for topk)', () => {
    const z = logits();
    const values = largestLogits(z, 3);
    expect(values.map((v) => Array.from(v.dataSync()))).toEqual([
      [4, 5],
      [3, 3],
      [2, 2],
    ]);
    const gradient = tf.grad((t: tf.Tensor) => tf.sum(largestLogits(t as tf.Tensor2D, 3)[2]))(z);
    expect(gradient.arraySync()).toEqual([
      [0, 0, 0, 0, 1],
      [0, 0, 0, 1, 0],
    ]);
    tf.dispose([z, gradient, ...values]);
  });

  it('returns logits, per-example loss and the input gradient from one pass, without leaking', () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 2],
    ]);
    const x = tf.tensor2d([
      [0.3, 0.4],
      [0.9, 0.1],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');
    const before = tf.memory().numTensors;
    const { logits: z, loss, gradient } = tf.tidy(() => lossAndGradient(model, marginObjective(labels), x));
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(z.arraySync()).toEqual([
      [expect.closeTo(0.3, 6), expect.closeTo(0.8, 6)],
      [expect.closeTo(0.9, 6), expect.closeTo(0.2, 6)],
    ]);
    expect(Array.from(loss.dataSync())).toEqual([expect.closeTo(0.5, 6), expect.closeTo(-0.7, 6)]);
    expect(gradient.arraySync()).toEqual([
      [-1, 2],
      [-1, 2],
    ]);
    tf.dispose([z, loss, gradient, x, labels]);
    dispose();
  });
});
