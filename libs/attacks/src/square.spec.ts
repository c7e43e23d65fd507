import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearProblem, worstMargin } from './linear-analytic.fixture';
import type { LogitsModel } from './logits-model';
import { square, squareFraction } from './square';
import { verifyPerturbation } from './verify-perturbation';

/** The model, but any attempt to differentiate through it throws: proof that no gradient is used. */
function gradientFree(model: LogitsModel): LogitsModel {
  const guard: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: () => {
      throw new Error('square must not take gradients');
    },
  }));
  return (x) => model(guard(x));
}

describe('square', () => {
  beforeAll(useCpuBackend);

  it('shrinks the square fraction on the schedule of the paper, rescaled to the query budget', () => {
    const iterations = [0, 10, 11, 50, 51, 200, 201, 500, 501, 1000, 1001, 2000, 2001, 4000, 4001, 6000, 6001, 8000, 8001, 9999];
    const divisors = [1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 512];
    expect(iterations.map((i) => squareFraction(i, 10000, 0.8))).toEqual(divisors.map((d) => 0.8 / d));
    // With 1000 queries, iteration 100 plays the role of iteration 1000.
    expect(squareFraction(100, 1000, 0.8)).toBe(squareFraction(1000, 10000, 0.8));
  });

  it('without gradients, finds the L∞ adversarial examples of a linear model exactly where they exist', async () => {
    const epsilon = 0.05;
    const problem = linearProblem({ features: 8, classes: 3, examples: 24, epsilon, seed: 31 });
    const result = await square({ model: gradientFree(problem.model), inputs: problem.inputs, labels: problem.labels, epsilon, queries: 400, seed: 1 });

    let decided = 0;
    problem.rows.forEach((row, i) => {
      const { margin } = worstMargin(problem.weights, row, problem.labelValues[i], epsilon, 'linf', problem.bias);
      if (Math.abs(margin) < 1e-3) return;
      decided += 1;
      expect([i, result.success[i]]).toEqual([i, margin < 0]);
    });
    expect(decided).toBeGreaterThan(18);
    expect(result.success.filter(Boolean).length).toBeGreaterThan(3);
    // Examples it fooled stop costing queries; the others use the whole budget plus the first query.
    result.success.forEach((s, i) => expect(result.queries[i] <= 401 && (s || result.queries[i] === 401)).toBe(true));
    result.adversarial.dispose();
    problem.dispose();
  });

  it('attacks images window by window, inside the ball and the box, deterministically for a seed', async () => {
    const weights = tf.randomNormal([4 * 4 * 3, 5], 0, 1, 'float32', 3);
    const model: LogitsModel = (x) => tf.tidy(() => tf.matMul<tf.Tensor2D>(tf.reshape(x, [x.shape[0], -1]), weights));
    const inputs = tf.randomUniform([6, 4, 4, 3], 0, 1, 'float32', 4);
    const labels = tf.tidy(() => tf.argMax<tf.Tensor1D>(model(inputs), 1));
    const epsilon = 0.05;
    const before = tf.memory().numTensors;

    const a = await square({ model, inputs, labels, epsilon, queries: 60, seed: 9 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const b = await square({ model, inputs, labels, epsilon, queries: 60, seed: 9 });

    expect(Array.from(a.adversarial.dataSync())).toEqual(Array.from(b.adversarial.dataSync()));
    expect(await verifyPerturbation({ inputs, adversarial: a.adversarial, epsilon, norm: 'linf' })).toEqual(new Array(6).fill(true));
    // Every coordinate sits on a vertex of the ball (x ± ε) or on the box, as the attack only ever sets whole windows to x ± ε.
    const x = inputs.dataSync();
    const adv = a.adversarial.dataSync();
    adv.forEach((v, k) => expect(Math.abs(Math.abs(v - x[k]) - epsilon) < 1e-6 || v === 0 || v === 1).toBe(true));
    tf.dispose([a.adversarial, b.adversarial, weights, inputs, labels]);
  });
});
