import * as tf from '@tensorflow/tfjs';
import { apgd } from './apgd';
import { bpda, bpdaTransform } from './bpda';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearModel } from './linear-model.fixture';
import { mifgsm } from './mifgsm';

const quantise = (x: tf.Tensor) => tf.div(tf.round(tf.mul(x, 10)), 10);

describe('bpda', () => {
  beforeAll(useCpuBackend);

  it('computes the forward pass with the real preprocessing, bit for bit', () => {
    const x = tf.tensor2d([[0.12, 0.4, 0.67, 0.9, 0, 1]]);
    const through = bpdaTransform(quantise)(x);
    const direct = quantise(x);
    expect(Array.from(through.dataSync())).toEqual(Array.from(direct.dataSync()));
    tf.dispose([x, through, direct]);
  });

  it('passes the gradient straight through by default, and through the given approximation otherwise', () => {
    const x = tf.tensor2d([[0.1, 0.4, 0.62]]);
    const weights = tf.tensor1d([1, -2, 3]);
    const objective = (transform: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(transform(t), weights));

    const masked = tf.grad(objective(quantise))(x);
    const straight = tf.grad(objective(bpdaTransform(quantise)))(x);
    // g(x) = 2x: BPDA must then report twice the straight-through gradient.
    const doubled = tf.grad(objective(bpdaTransform(quantise, (t) => tf.mul(t, 2))))(x);

    expect(Array.from(masked.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(straight.dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(doubled.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, weights, masked, straight, doubled]);
  });

  it('is a LogitsModel every gradient attack accepts, with results judged on the real defended model', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const defended = (x: tf.Tensor) => model(quantise(x));
    const inputs = tf.tensor2d([
      [0.56, 0.44],
      [0.58, 0.42],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');

    const naive = await mifgsm({ model: defended, inputs, labels, epsilon: 0.15, steps: 5 });
    const adaptive = await apgd({ model: bpda({ model, preprocess: quantise }), inputs, labels, epsilon: 0.15, steps: 5 });
    const momentum = await mifgsm({ model: bpda({ model, preprocess: quantise }), inputs, labels, epsilon: 0.15, steps: 5 });

    // Rounding zeroes the gradient: the naive attack cannot move at all; through BPDA it can.
    expect(naive.success).toEqual([false, false]);
    expect(Array.from(naive.adversarial.dataSync())).toEqual(Array.from(inputs.dataSync()));
    expect(adaptive.success).toEqual([true, true]);
    expect(momentum.success).toEqual([true, true]);
    const check = tf.tidy(() => tf.argMax(defended(adaptive.adversarial), 1));
    expect(Array.from(check.dataSync())).toEqual([1, 1]);
    tf.dispose([inputs, labels, naive.adversarial, adaptive.adversarial, momentum.adversarial, check]);
    dispose();
  });
});
