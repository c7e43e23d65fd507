import * as tf from '@tensorflow/tfjs';
import { apgd, apgdCheckpoints } from './apgd';
import { useCpuBackend } from './cpu-backend.fixture';
import { linearProblem, weightDifference, worstMargin } from './linear-analytic.fixture';
import { linearModel } from './linear-model.fixture';
import { predictLabels } from './logits-model';
import { verifyPerturbation } from './verify-perturbation';

const f32 = Math.fround;

describe('apgd', () => {
  beforeAll(useCpuBackend);

  it('checks the step size at the paper checkpoints p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)', () => {
    const paper = (n: number) => {
      const p = [0, 0.22];
      while (true) {
        const next = p[p.length - 1] + Math.max(p[p.length - 1] - p[p.length - 2] - 0.03, 0.06);
        if (next > 1) break;
        p.push(next);
      }
      return p.slice(1).map((v) => Math.round(v * n));
    };
    expect(apgdCheckpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(apgdCheckpoints(100)).toEqual(paper(100));
    expect(apgdCheckpoints(1000)).toEqual(paper(1000));
  });

  it('on a 2-class linear model reaches the analytic L∞ optimum x − ε·sign(w_y − w_other), exactly where it is not adversarial', async () => {
    const epsilon = 0.05;
    const problem = linearProblem({ features: 12, classes: 2, examples: 40, epsilon, seed: 3 });
    const result = await apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, steps: 20 });

    const adversarial = result.adversarial.arraySync() as number[][];
    let checkedOptimum = 0;
    problem.rows.forEach((row, i) => {
      const y = problem.labelValues[i];
      const { margin } = worstMargin(problem.weights, row, y, epsilon, 'linf', problem.bias);
      if (Math.abs(margin) < 1e-4) return;
      expect(result.success[i]).toBe(margin < 0);
      if (margin > 0) {
        const d = weightDifference(problem.weights, y, 1 - y);
        // Up to float32 rounding of the momentum step (an ulp or two).
        adversarial[i].forEach((v, k) => expect(v).toBeCloseTo(f32(f32(row[k]) - f32(epsilon) * Math.sign(d[k])), 6));
        checkedOptimum += 1;
      }
    });
    expect(checkedOptimum).toBeGreaterThan(5);
    expect(result.success.some(Boolean)).toBe(true);
    result.adversarial.dispose();
    problem.dispose();
  });

  it('on a 2-class linear model reaches the analytic L2 optimum x − ε·d/‖d‖₂', async () => {
    const epsilon = 0.1;
    const problem = linearProblem({ features: 6, classes: 2, examples: 30, epsilon, seed: 5 });
    const result = await apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, norm: 'l2', steps: 30 });

    const adversarial = result.adversarial.arraySync() as number[][];
    let checkedOptimum = 0;
    problem.rows.forEach((row, i) => {
      const y = problem.labelValues[i];
      const { margin } = worstMargin(problem.weights, row, y, epsilon, 'l2', problem.bias);
      if (Math.abs(margin) < 1e-3) return;
      expect(result.success[i]).toBe(margin < 0);
      if (margin > 0) {
        const d = weightDifference(problem.weights, y, 1 - y);
        const norm = Math.hypot(...d);
        // Step sizes halve at every checkpoint; 30 steps bring the iterate within 1e-3 of the optimum.
        adversarial[i].forEach((v, k) => expect(v).toBeCloseTo(row[k] - (epsilon * d[k]) / norm, 3));
        checkedOptimum += 1;
      }
    });
    expect(checkedOptimum).toBeGreaterThan(5);
    expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: result.adversarial, epsilon, norm: 'l2' })).toEqual(new Array(30).fill(true));
    result.adversarial.dispose();
    problem.dispose();
  });

  it.each([
    ['dlr', {}],
    ['dlr', { targetClasses: 3 }],
  ] as const)('on a 5-class linear model with loss %s %j succeeds exactly where an L∞ adversarial example exists', async (loss, extra) => {
    const epsilon = 0.04;
    const problem = linearProblem({ features: 10, classes: 5, examples: 40, epsilon, seed: 8 });
    const result = await apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, steps: 40, loss, ...extra });

    let decided = 0;
    problem.rows.forEach((row, i) => {
      const { margin } = worstMargin(problem.weights, row, problem.labelValues[i], epsilon, 'linf', problem.bias);
      if (Math.abs(margin) < 1e-3) return;
      decided += 1;
      expect([i, result.success[i]]).toEqual([i, margin < 0]);
    });
    expect(decided).toBeGreaterThan(30);
    expect(result.success.filter(Boolean).length).toBeGreaterThan(5);
    expect(result.success.filter(Boolean).length).toBeLessThan(35);
    result.adversarial.dispose();
    problem.dispose();
  });

  it('with cross-entropy on a 5-class linear model never claims an impossible success and finds most possible ones', async () => {
    // CE is convex in δ here, so its ascent ends at some vertex of the L∞ box, not always one
    // where a single class overtakes the label: why AutoAttack follows APGD-CE with DLR stages.
    const epsilon = 0.04;
    const problem = linearProblem({ features: 10, classes: 5, examples: 40, epsilon, seed: 8 });
    const result = await apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, steps: 40, loss: 'ce' });

    const margins = problem.rows.map((row, i) => worstMargin(problem.weights, row, problem.labelValues[i], epsilon, 'linf', problem.bias).margin);
    expect(result.success.filter((s, i) => s && margins[i] >= 0)).toEqual([]);
    const possible = margins.filter((m) => m < -1e-3).length;
    expect(result.success.filter(Boolean).length).toBeGreaterThanOrEqual(0.6 * possible);
    result.adversarial.dispose();
    problem.dispose();
  });

  it('with explicit targets counts a success only where the target is predicted', async () => {
    const epsilon = 0.1;
    const problem = linearProblem({ features: 10, classes: 5, examples: 20, epsilon, seed: 9 });
    const targets = tf.tensor1d(
      problem.labelValues.map((y) => (y + 1) % 5),
      'int32',
    );
    const result = await apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, targets, epsilon, steps: 20, loss: 'ce' });
    const predicted = predictLabels({ model: problem.model, inputs: result.adversarial });

    const hitTarget = Array.from(tf.tidy(() => tf.equal(predicted, targets)).dataSync(), (v) => v === 1);
    expect(result.success).toEqual(hitTarget);
    expect(result.success.some(Boolean)).toBe(true);
    tf.dispose([targets, predicted, result.adversarial]);
    problem.dispose();
  });

  it('is deterministic for a seed, leaks no tensors and keeps every example inside the threat model', async () => {
    const epsilon = 0.08;
    const problem = linearProblem({ features: 10, classes: 5, examples: 16, epsilon, seed: 10 });
    const run = (seed: number) =>
      apgd({ model: problem.model, inputs: problem.inputs, labels: problem.labels, epsilon, steps: 10, restarts: 2, loss: 'dlr', seed });
    const before = tf.memory().numTensors;

    const first = await run(7);
    expect(tf.memory().numTensors).toBe(before + 1);
    const second = await run(7);

    expect(Array.from(second.adversarial.dataSync())).toEqual(Array.from(first.adversarial.dataSync()));
    expect(second.success).toEqual(first.success);
    expect(Math.max(...first.linfNorms)).toBeLessThanOrEqual(epsilon + 1e-5);
    expect(await verifyPerturbation({ inputs: problem.inputs, adversarial: first.adversarial, epsilon, norm: 'linf' })).toEqual(new Array(16).fill(true));
    tf.dispose([first.adversarial, second.adversarial]);
    expect(tf.memory().numTensors).toBe(before);
    problem.dispose();
  });

  it('leaves examples that are misclassified to begin with untouched, and counts them as successes', async () => {
    const { model, dispose } = linearModel([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.9, 0.1, 0.1],
      [0.1, 0.9, 0.1],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');
    const result = await apgd({ model, inputs, labels, epsilon: 0.05, steps: 5, loss: 'dlr' });

    expect(result.success).toEqual([false, true]);
    expect(Array.from(result.adversarial.dataSync()).slice(3)).toEqual(Array.from(inputs.dataSync()).slice(3));
    tf.dispose([inputs, labels, result.adversarial]);
    dispose();
  });

  it('rejects settings the losses cannot support', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const inputs = tf.tensor2d([[0.6, 0.4]]);
    const labels = tf.tensor1d([0], 'int32');
    await expect(apgd({ model, inputs, labels, epsilon: 0.1, loss: 'dlr' })).rejects.toThrow(/at least 3 classes/);
    await expect(apgd({ model, inputs, labels, epsilon: 0.1, targetClasses: 2 })).rejects.toThrow(/targetClasses/);
    await expect(apgd({ model, inputs, labels, epsilon: 0.1, steps: 0 })).rejects.toThrow(/steps/);
    tf.dispose([inputs, labels]);
    dispose();
  });
});
