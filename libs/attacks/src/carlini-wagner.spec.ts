import * as tf from '@tensorflow/tfjs';
import { carliniWagner } from './carlini-wagner';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearProblem, logitsOf, weightDifference } from './linear-analytic.fixture';
import { verifyPerturbation } from './verify-perturbation';

describe('carliniWagner', () => {
  beforeAll(useCpuBackend);

  it('on a 2-class linear model finds close to the analytic minimum L2 distance to the boundary, (z_y − z_o)/‖w_y − w_o‖₂', async () => {
    const problem = linearProblem({ features: 6, classes: 2, examples: 12, epsilon: 0.25, seed: 41 });
    const before = tf.memory().numTensors;
    const result = await carliniWagner({
      model: problem.model,
      inputs: problem.inputs,
      labels: problem.labels,
      binarySearchSteps: 6,
      maxIterations: 150,
      learningRate: 0.05,
      initialConst: 1,
    });
    expect(tf.memory().numTensors).toBe(before + 1);

    const minimal = problem.rows.map((row, i) => {
      const y = problem.labelValues[i];
      const z = logitsOf(problem.weights, row, problem.bias);
      return (z[y] - z[1 - y]) / Math.hypot(...weightDifference(problem.weights, y, 1 - y));
    });
    // Examples whose minimal perturbation fits inside the box (inputs lie in [0.25, 0.75]).
    const reachable = minimal.map((r) => r < 0.2);
    expect(reachable.filter(Boolean).length).toBeGreaterThan(5);
    reachable.forEach((inside, i) => {
      if (!inside) return;
      expect(result.success[i]).toBe(true);
      // Never below the true minimum (it is a minimum), and within 10% (+ float slack) above it.
      expect(result.l2Norms[i]).toBeGreaterThanOrEqual(minimal[i] - 1e-4);
      expect(result.l2Norms[i]).toBeLessThanOrEqual(minimal[i] * 1.1 + 1e-3);
    });
    expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: result.adversarial, epsilon: Infinity, norm: 'l2' })).toEqual(
      new Array(12).fill(true),
    );
    result.adversarial.dispose();
    problem.dispose();
  });

  it('wins by at least the confidence κ, is deterministic, and with an ε counts only perturbations within it', async () => {
    const problem = linearProblem({ features: 6, classes: 3, examples: 10, epsilon: 0.25, seed: 42 });
    const options = {
      model: problem.model,
      inputs: problem.inputs,
      labels: problem.labels,
      binarySearchSteps: 4,
      maxIterations: 80,
      learningRate: 0.05,
      initialConst: 1,
      confidence: 0.5,
    };
    const a = await carliniWagner(options);
    const b = await carliniWagner(options);
    expect(Array.from(a.adversarial.dataSync())).toEqual(Array.from(b.adversarial.dataSync()));

    const adversarial = a.adversarial.arraySync() as number[][];
    a.success.forEach((s, i) => {
      if (!s) return;
      const z = logitsOf(problem.weights, adversarial[i], problem.bias);
      const y = problem.labelValues[i];
      expect(Math.max(...z.filter((_, k) => k !== y)) - z[y]).toBeGreaterThan(0.5 - 1e-4);
    });
    expect(a.success.filter(Boolean).length).toBeGreaterThan(3);

    const budget = 0.5 * Math.max(...a.l2Norms);
    const bounded = await carliniWagner({ ...options, epsilon: budget });
    bounded.success.forEach((s, i) => expect(s).toBe(a.success[i] && bounded.l2Norms[i] <= budget + 1e-5));
    tf.dispose([a.adversarial, b.adversarial, bounded.adversarial]);
    problem.dispose();
  });
});
