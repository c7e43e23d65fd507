import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearModel } from './linear-model.fixture';
import type { LogitsModel } from './logits-model';
import {
  blackBoxBeatWhiteBox,
  gradientHealth,
  iterativeWeakerThanSingleStep,
  notBrokenAtLargeEpsilon,
  robustnessRoseWithEpsilon,
  stochasticForwardPass,
} from './validity-checks';

describe('validity checks', () => {
  beforeAll(useCpuBackend);

  it('flag the examples a single step broke and the iterative attack did not', () => {
    const result = iterativeWeakerThanSingleStep({ singleStep: [true, true, false, false], iterative: [true, false, true, false] });
    expect(result).toEqual({ flag: 'iterative-weaker-than-single-step', raised: true, examples: [1], detail: expect.stringContaining('1 of 4') });
    expect(iterativeWeakerThanSingleStep({ singleStep: [true, false], iterative: [true, true] }).raised).toBe(false);
    expect(() => iterativeWeakerThanSingleStep({ singleStep: [true], iterative: [] })).toThrow(/length/);
  });

  it('flag curve points whose robust accuracy exceeds that at a smaller ε, in any order of points', () => {
    const curve = [
      { epsilon: 0.3, robustAccuracy: 0.2 },
      { epsilon: 0, robustAccuracy: 0.99 },
      { epsilon: 0.1, robustAccuracy: 0.6 },
      { epsilon: 0.2, robustAccuracy: 0.65 },
    ];
    expect(robustnessRoseWithEpsilon({ curve })).toMatchObject({ raised: true, examples: [3] });
    expect(robustnessRoseWithEpsilon({ curve, tolerance: 0.1 }).raised).toBe(false);
    expect(robustnessRoseWithEpsilon({ curve: curve.filter((p) => p.epsilon !== 0.2) }).raised).toBe(false);
  });

  it('flag large-ε points where the model is not broken', () => {
    const curve = [
      { epsilon: 0.1, robustAccuracy: 0.5 },
      { epsilon: 0.5, robustAccuracy: 0.3 },
    ];
    expect(notBrokenAtLargeEpsilon({ curve })).toMatchObject({ raised: true, examples: [1] });
    expect(notBrokenAtLargeEpsilon({ curve: [{ epsilon: 0.5, robustAccuracy: 0.01 }] }).raised).toBe(false);
    expect(notBrokenAtLargeEpsilon({ curve: [{ epsilon: 0.1, robustAccuracy: 0.9 }] })).toMatchObject({
      raised: false,
      detail: expect.stringContaining('nothing judged'),
    });
  });

  it('flag examples only the black-box attack broke', () => {
    const result = blackBoxBeatWhiteBox({
      blackBox: [true, true, false],
      whiteBox: [
        [false, true, false],
        [false, false, true],
      ],
    });
    expect(result).toMatchObject({ raised: true, examples: [0] });
    expect(blackBoxBeatWhiteBox({ blackBox: [true], whiteBox: [[true]] }).raised).toBe(false);
  });

  it('flag zero input gradients on a rounding model and stay quiet on the plain one', async () => {
    const { model, dispose } = linearModel([
      [1, -1],
      [-1, 1],
      [0.5, 0],
    ]);
    const rounding: LogitsModel = (x) => model(tf.round(tf.mul(x, 8)).div(8));
    const inputs = tf.tensor2d([
      [0.2, 0.7, 0.1],
      [0.9, 0.3, 0.5],
    ]);
    const labels = tf.tensor1d([1, 0], 'int32');

    const plain = await gradientHealth({ model, inputs, labels });
    const masked = await gradientHealth({ model: rounding, inputs, labels });
    const broken = await gradientHealth({ model: (x) => tf.tidy(() => tf.mul<tf.Tensor2D>(model(x), NaN)), inputs, labels });

    expect(plain).toMatchObject({ raised: false, zero: [false, false], nonFinite: [false, false] });
    expect(masked).toMatchObject({ flag: 'zero-or-nan-gradients', raised: true, examples: [0, 1], zero: [true, true] });
    expect(broken).toMatchObject({ raised: true, nonFinite: [true, true], zero: [false, false] });
    tf.dispose([inputs, labels]);
    dispose();
  });

  it('flag a model whose identical forward passes disagree, and not a deterministic one', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    let calls = 0;
    const randomised: LogitsModel = (x) => {
      calls += 1;
      return tf.tidy(() => model(tf.add(x, tf.randomNormal(x.shape, 0, 0.1, 'float32', calls))));
    };
    const inputs = tf.tensor2d([
      [0.5, 0.5],
      [0.1, 0.9],
    ]);
    expect(await stochasticForwardPass({ model, inputs })).toMatchObject({ flag: 'stochastic-forward-pass', raised: false });
    expect(await stochasticForwardPass({ model: randomised, inputs, repeats: 3 })).toMatchObject({ raised: true, examples: [0, 1] });
    tf.dispose(inputs);
    dispose();
  });
});
