import * as tf from '@tensorflow/tfjs';
import { apgd } from './apgd';
import { bpdaTransform } from './bpda';
import { useCpuBackend } from './cpu-backend.fixture';
import { eot } from './eot';
import { linearModel } from './linear-model.fixture';

const noisy = (x: tf.Tensor, seed: number) => tf.add(x, tf.randomUniform(x.shape, -0.3, 0.3, 'float32', seed));

describe('eot', () => {
  beforeAll(useCpuBackend);

  it('averages the logits over n draws in one batch, reproducibly for a seed', () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const x = tf.tensor2d([
      [0.5, 0.2],
      [0.1, 0.9],
    ]);
    const calls: number[] = [];
    const counting = (t: tf.Tensor) => {
      calls.push(t.shape[0]);
      return model(t);
    };
    const averaged = eot({ model: counting, transform: noisy, samples: 8, seed: 3 });
    const first = averaged(x);
    const again = eot({ model: counting, transform: noisy, samples: 8, seed: 3 })(x);

    expect(calls).toEqual([16, 16]);
    expect(Array.from(first.dataSync())).toEqual(Array.from(again.dataSync()));
    // Uniform noise of mean 0 on a linear model: the average is near the clean logits.
    Array.from(first.dataSync()).forEach((v, i) => expect(Math.abs(v - [0.5, 0.2, 0.1, 0.9][i])).toBeLessThan(0.15));
    tf.dispose([x, first, again]);
    dispose();
  });

  it('gives the gradient averaged over the draws', () => {
    // logits = [x0², x1] through a noisy transform: d/dx0 of the mean is the mean of 2(x0 + u_i).
    const model = (t: tf.Tensor) =>
      tf.tidy(() => tf.stack([tf.square(tf.squeeze(tf.slice(t, [0, 0], [-1, 1]), [1])), tf.squeeze(tf.slice(t, [0, 1], [-1, 1]), [1])], 1) as tf.Tensor2D);
    const seeds: number[] = [];
    const recording = (t: tf.Tensor, seed: number) => {
      seeds.push(seed);
      return noisy(t, seed);
    };
    const x = tf.tensor2d([[0.5, 0.5]]);
    const gradient = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(eot({ model, transform: recording, samples: 5, seed: 1 })(t), [0, 0], [-1, 1])))(x);

    const expected =
      seeds.map((s) => tf.tidy(() => tf.add(x, tf.randomUniform(x.shape, -0.3, 0.3, 'float32', s)).dataSync()[0] * 2)).reduce((a, b) => a + b, 0) / 5;
    expect(gradient.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(gradient.dataSync()[1]).toBe(0);
    tf.dispose([x, gradient]);
  });

  it('composes with BPDA for a randomised, non-differentiable defense and with the gradient attacks', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    // Random noise, then rounding to tenths: random and gradient-free at once.
    const randomisedRounding = (t: tf.Tensor, seed: number) =>
      bpdaTransform((u) => tf.div(tf.round(tf.mul(u, 10)), 10))(tf.add(t, tf.randomUniform(t.shape, -0.05, 0.05, 'float32', seed)));
    const inputs = tf.tensor2d([
      [0.6, 0.4],
      [0.8, 0.2],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');
    const defended = eot({ model, transform: randomisedRounding, samples: 16, seed: 2 });
    const result = await apgd({ model: defended, inputs, labels, epsilon: 0.15, steps: 10 });
    // 0.6 − 0.15 < 0.4 + 0.15 can flip; 0.8 − 0.15 > 0.2 + 0.15 cannot.
    expect(result.success).toEqual([true, false]);
    tf.dispose([inputs, labels, result.adversarial]);
    dispose();
  });
});
