import * as tf from '@tensorflow/tfjs';
import { craftFgsm, fgsm } from './fgsm';
import { linearModel } from './linear-model.fixture';
import { PERTURBATION_TOLERANCE, verifyPerturbation } from './verify-perturbation';

const f32 = Math.fround;

/** What x' = clip(x + ε·s, 0, 1) is in float32, computed independently of tfjs. */
function expectedAdversarial(x: number[], signs: number[], epsilon: number): number[] {
  return x.map((v, i) => Math.min(1, Math.max(0, f32(f32(v) + f32(epsilon) * signs[i]))));
}

describe('fgsm', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('on a 2-class linear model moves each input by exactly -ε·sign(w_true - w_other), clipped to [0,1]', () => {
    // Columns are the two classes; w0 - w1 = [1, -1.75, 1, -0.75] has no zero component.
    const { model, dispose } = linearModel([
      [0.5, -0.5],
      [-1, 0.75],
      [2, 1],
      [-0.25, 0.5],
    ]);
    const epsilon = 0.1;
    const rows = [
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5, 0.5],
      [0.05, 0.95, 0.5, 0.99],
    ];
    const labels = [0, 1, 0];
    const signTrue0 = [-1, 1, -1, 1];
    const signTrue1 = signTrue0.map((s) => -s);
    const inputs = tf.tensor4d(rows.flat(), [3, 2, 2, 1]);
    const y = tf.tensor1d(labels, 'int32');

    const adversarial = craftFgsm({ model, inputs, labels: y, epsilon });

    expect(adversarial.shape).toEqual([3, 2, 2, 1]);
    expect(Array.from(adversarial.dataSync())).toEqual([
      ...expectedAdversarial(rows[0], signTrue0, epsilon),
      ...expectedAdversarial(rows[1], signTrue1, epsilon),
      // Components pushed past the box are clipped: 0.05 - 0.1 -> 0, 0.95 + 0.1 -> 1, 0.99 + 0.1 -> 1.
      ...expectedAdversarial(rows[2], signTrue0, epsilon),
    ]);
    expect(expectedAdversarial(rows[2], signTrue0, epsilon)).toEqual([0, 1, f32(f32(0.5) - f32(0.1)), 1]);
    tf.dispose([inputs, y, adversarial]);
    dispose();
  });

  it('counts a success only where the adversarial input is misclassified', async () => {
    // logits = [x0, x1]: the margin of class 0 is x0 - x1 and FGSM removes 2ε from it.
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.6, 0.4],
      [0.9, 0.1],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');

    const weak = await fgsm({ model, inputs, labels, epsilon: 0.05 });
    const strong = await fgsm({ model, inputs, labels, epsilon: 0.15 });

    expect(weak.success).toEqual([false, false]);
    expect(strong.success).toEqual([true, false]);
    expect(Array.from(strong.linfNorms)).toEqual([expect.closeTo(0.15, 6), expect.closeTo(0.15, 6)]);
    tf.dispose([inputs, labels, weak.adversarial, strong.adversarial]);
    dispose();
  });

  it('never counts an example outside the threat model as a success', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    // 1.5 lies outside the input box; clipping moves it by 0.5 > ε, although the model is fooled.
    const inputs = tf.tensor2d([
      [0.3, 1.5],
      [0.55, 0.45],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');

    const result = await fgsm({ model, inputs, labels, epsilon: 0.1 });

    expect(result.success).toEqual([false, true]);
    expect(result.linfNorms[0]).toBeCloseTo(0.5, 6);
    tf.dispose([inputs, labels, result.adversarial]);
    dispose();
  });

  it.each([0, 0.03, 0.3])('respects ε = %p on a random model and random inputs, leaking no tensors', async (epsilon) => {
    const weights = tf.randomNormal([25, 10], 0, 1, 'float32', 7);
    const model = (x: tf.Tensor) => tf.tidy(() => tf.matMul<tf.Tensor2D>(tf.reshape(x, [x.shape[0], -1]), weights));
    const inputs = tf.randomUniform([8, 5, 5, 1], 0, 1, 'float32', 11);
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const before = tf.memory().numTensors;

    const result = await fgsm({ model, inputs, labels, epsilon });

    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(result.linfNorms).every((n) => n <= epsilon + PERTURBATION_TOLERANCE)).toBe(true);
    const values = result.adversarial.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(await verifyPerturbation({ inputs, adversarial: result.adversarial, epsilon, norm: 'linf' })).toEqual(new Array(8).fill(true));
    if (epsilon === 0) {
      expect(Array.from(values)).toEqual(Array.from(inputs.dataSync()));
    } else {
      expect(Math.max(...result.linfNorms)).toBeCloseTo(epsilon, 5);
    }
    result.adversarial.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([weights, inputs, labels]);
  });

  it('rejects bad arguments', () => {
    const { model, dispose } = linearModel([[1, 0]]);
    const inputs = tf.tensor2d([[0.5]]);
    const labels = tf.tensor1d([0], 'int32');
    const floatLabels = tf.tensor1d([0]);
    expect(() => craftFgsm({ model, inputs, labels, epsilon: -0.1 })).toThrow(/epsilon/);
    expect(() => craftFgsm({ model, inputs, labels: floatLabels, epsilon: 0.1 })).toThrow(/int32/);
    tf.dispose([inputs, labels, floatLabels]);
    dispose();
  });
});
