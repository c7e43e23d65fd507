import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearProblem, worstMargin } from './linear-analytic.fixture';
import { standardSuite, type SuiteStageReport } from './standard-suite';
import { verifyPerturbation } from './verify-perturbation';

describe('standardSuite', () => {
  beforeAll(useCpuBackend);

  const quick = { apgdSteps: 20, squareQueries: 100, targetClasses: 2 };

  it('runs each stage only on the examples still robust and ends exactly at the analytic robust set of a linear model', async () => {
    const epsilon = 0.04;
    const problem = linearProblem({ features: 10, classes: 5, examples: 30, epsilon, seed: 61 });
    // Two examples carry a wrong label: misclassified before any attack.
    const labelValues = problem.labelValues.map((y, i) => (i < 2 ? (y + 1) % 5 : y));
    const labels = tf.tensor1d(labelValues, 'int32');
    const reports: SuiteStageReport[] = [];
    const before = tf.memory().numTensors;

    const result = await standardSuite({ model: problem.model, inputs: problem.inputs, labels, epsilon, ...quick, onStage: (r) => reports.push(r) });
    expect(tf.memory().numTensors).toBe(before + 1);

    expect(result.brokenBy.slice(0, 2)).toEqual(['clean', 'clean']);
    const expectedRobust = problem.rows.map((row, i) => i >= 2 && worstMargin(problem.weights, row, labelValues[i], epsilon, 'linf', problem.bias).margin > 0);
    expect(result.robust).toEqual(expectedRobust);
    expect(result.success).toEqual(expectedRobust.map((r) => !r));
    // Stage bookkeeping: each stage saw exactly the examples the earlier ones left.
    expect(reports).toEqual(result.stages);
    expect(result.stages.map((s) => s.name)).toEqual(['apgd-ce', 'apgd-t', 'square']);
    let remaining = 28;
    for (const stage of result.stages) {
      expect(stage.attempted).toBe(remaining);
      expect(stage.broken).toBe(result.brokenBy.filter((b) => b === stage.name).length);
      remaining -= stage.broken;
    }
    expect(remaining).toBe(expectedRobust.filter(Boolean).length);
    expect(result.stages[1].params).toMatchObject({ attack: 'apgd', loss: 'dlr-targeted', targetClasses: 2, steps: 20 });
    expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: result.adversarial, epsilon, norm: 'linf' })).toEqual(new Array(30).fill(true));
    // Unbroken and clean-misclassified examples keep their clean input.
    const adversarial = result.adversarial.arraySync() as number[][];
    result.brokenBy.forEach((b, i) => {
      if (b === 'clean') expect(adversarial[i]).toEqual(problem.rows[i]);
    });
    tf.dispose([labels, result.adversarial]);
    problem.dispose();
  });

  it('is deterministic for a seed', async () => {
    const problem = linearProblem({ features: 10, classes: 5, examples: 12, epsilon: 0.05, seed: 62 });
    const run = () => standardSuite({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon: 0.05, seed: 4, ...quick });
    const a = await run();
    const b = await run();
    expect(Array.from(b.adversarial.dataSync())).toEqual(Array.from(a.adversarial.dataSync()));
    expect(b.brokenBy).toEqual(a.brokenBy);
    tf.dispose([a.adversarial, b.adversarial]);
    problem.dispose();
  });

  it('reports the stages it cannot run instead of silently dropping them', async () => {
    const problem = linearProblem({ features: 6, classes: 3, examples: 8, epsilon: 0.2, seed: 63 });
    const result = await standardSuite({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon: 0.3, norm: 'l2', ...quick });
    expect(result.stages.map((s) => [s.name, s.skipped === undefined])).toEqual([
      ['apgd-ce', true],
      ['apgd-t', false],
      ['square', false],
    ]);
    expect(result.stages[1].skipped).toMatch(/4 classes/);
    expect(result.stages[2].skipped).toMatch(/L∞ only/);
    expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: result.adversarial, epsilon: 0.3, norm: 'l2' })).toEqual(new Array(8).fill(true));
    result.adversarial.dispose();
    problem.dispose();
  });
});
