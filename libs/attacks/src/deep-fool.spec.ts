import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { deepFool } from './deep-fool';
import { linearProblem, logitsOf, weightDifference } from './linear-analytic.fixture';

describe('deepFool', () => {
  beforeAll(useCpuBackend);

  it.each([
    ['l2', (d: number[]) => Math.hypot(...d), (r: { l2Norms: Float32Array }) => r.l2Norms],
    ['linf', (d: number[]) => d.reduce((s, v) => s + Math.abs(v), 0), (r: { linfNorms: Float32Array }) => r.linfNorms],
  ] as const)('on a 2-class linear model (%s) lands in one step at 1.02 × the analytic distance to the boundary', async (norm, dualNorm, measured) => {
    const problem = linearProblem({ features: 6, classes: 2, examples: 20, epsilon: 0.3, seed: 51 });
    const before = tf.memory().numTensors;
    const result = await deepFool({ model: problem.model, inputs: problem.inputs, labels: problem.labels, norm, steps: 1 });
    expect(tf.memory().numTensors).toBe(before + 1);

    let checked = 0;
    problem.rows.forEach((row, i) => {
      const y = problem.labelValues[i];
      const z = logitsOf(problem.weights, row, problem.bias);
      const distance = (z[y] - z[1 - y] + 1e-4) / dualNorm(weightDifference(problem.weights, y, 1 - y)) + 1e-4;
      // The box [0,1] cannot bind on a step shorter than 0.3 from inputs in [0.3, 0.7].
      if (1.02 * distance > 0.29) return;
      checked += 1;
      expect(result.success[i]).toBe(true);
      expect(measured(result)[i]).toBeCloseTo(1.02 * distance, 4);
    });
    expect(checked).toBeGreaterThan(4);
    result.adversarial.dispose();
    problem.dispose();
  });

  it('on a multi-class linear model fools every example, stopping each once it is misclassified', async () => {
    const problem = linearProblem({ features: 8, classes: 6, examples: 16, epsilon: 0.1, seed: 52 });
    const result = await deepFool({ model: problem.model, inputs: problem.inputs, labels: problem.labels, candidates: 4 });
    expect(result.success).toEqual(new Array(16).fill(true));
    const again = await deepFool({ model: problem.model, inputs: problem.inputs, labels: problem.labels, candidates: 4 });
    expect(Array.from(again.adversarial.dataSync())).toEqual(Array.from(result.adversarial.dataSync()));
    tf.dispose([result.adversarial, again.adversarial]);
    problem.dispose();
  });
});
