import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearProblem, weightDifference, worstMargin } from './linear-analytic.fixture';
import { mifgsm } from './mifgsm';
import { verifyPerturbation } from './verify-perturbation';

describe('mifgsm', () => {
  beforeAll(useCpuBackend);

  it('on a 2-class linear model walks T steps of ε/T to the analytic L∞ optimum and succeeds exactly where it is adversarial', async () => {
    const epsilon = 0.05;
    const problem = linearProblem({ features: 8, classes: 2, examples: 30, epsilon, seed: 21 });
    const result = await mifgsm({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, steps: 5 });

    const adversarial = result.adversarial.arraySync() as number[][];
    let optimal = 0;
    problem.rows.forEach((row, i) => {
      const y = problem.labelValues[i];
      const { margin } = worstMargin(problem.weights, row, y, epsilon, 'linf', problem.bias);
      if (Math.abs(margin) < 1e-4) return;
      expect(result.success[i]).toBe(margin < 0);
      if (margin > 0) {
        const d = weightDifference(problem.weights, y, 1 - y);
        adversarial[i].forEach((v, k) => expect(v).toBeCloseTo(row[k] - epsilon * Math.sign(d[k]), 6));
        optimal += 1;
      }
    });
    expect(optimal).toBeGreaterThan(5);
    result.adversarial.dispose();
    problem.dispose();
  });

  it('keeps the first successful iterate, stays inside the L∞ and L2 balls, and is deterministic', async () => {
    const problem = linearProblem({ features: 8, classes: 4, examples: 20, epsilon: 0.1, seed: 22 });
    for (const norm of ['linf', 'l2'] as const) {
      const epsilon = norm === 'linf' ? 0.1 : 0.3;
      const before = tf.memory().numTensors;
      const a = await mifgsm({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, norm, steps: 8, decay: 0.9 });
      expect(tf.memory().numTensors).toBe(before + 1);
      const b = await mifgsm({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, norm, steps: 8, decay: 0.9 });
      expect(Array.from(a.adversarial.dataSync())).toEqual(Array.from(b.adversarial.dataSync()));
      expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: a.adversarial, epsilon, norm })).toEqual(new Array(20).fill(true));
      expect(a.success.some(Boolean)).toBe(true);
      tf.dispose([a.adversarial, b.adversarial]);
    }
    problem.dispose();
  });
});
