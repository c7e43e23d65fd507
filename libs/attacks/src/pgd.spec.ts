import * as tf from '@tensorflow/tfjs';
import { craftFgsm } from './fgsm';
import { linearModel } from './linear-model.fixture';
import type { LogitsModel } from './logits-model';
import { useCpuBackend } from './cpu-backend.fixture';
import * as analytic from './linear-analytic.fixture';
import { bim, craftPgd, pgd } from './pgd';
import { softmaxCrossEntropy } from './softmax-cross-entropy';
import { PERTURBATION_TOLERANCE, verifyPerturbation } from './verify-perturbation';

function perExampleLoss(model: LogitsModel, inputs: tf.Tensor, labels: tf.Tensor1D): Float32Array {
  return tf.tidy(() => softmaxCrossEntropy({ logits: model(inputs), labels }).dataSync() as Float32Array);
}

describe('pgd', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const epsilon = 0.1;
  const attack = { epsilon, stepSize: 0.025, steps: 10, seed: 3 };

  /** A random linear classifier of 4×5 inputs and a batch of 64 random inputs with labels. */
  function linearProblem(classes: number) {
    const weights = tf.randomNormal([20, classes], 0, 1, 'float32', 1);
    const model: LogitsModel = (x) => tf.tidy(() => tf.matMul<tf.Tensor2D>(tf.reshape(x, [x.shape[0], -1]), weights));
    const inputs = tf.randomUniform([64, 4, 5, 1], 0, 1, 'float32', 2);
    const labels = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % classes),
      'int32',
    );
    return { model, inputs, labels, dispose: () => tf.dispose([weights, inputs, labels]) };
  }

  it('never does worse than FGSM on a linear model, and stays in the ε-ball and in [0,1]', async () => {
    // Two classes: the loss is monotone in one linear margin, so FGSM's corner of the box is the
    // optimum, which PGD (10 × 0.025 ≥ 2ε of travel) must reach from any random start too.
    const { model, inputs, labels, dispose } = linearProblem(2);

    const fgsmAdversarial = craftFgsm({ model, inputs, labels, epsilon });
    const pgdAdversarial = craftPgd({ model, inputs, labels, ...attack });

    const fgsmLoss = perExampleLoss(model, fgsmAdversarial, labels);
    perExampleLoss(model, pgdAdversarial, labels).forEach((loss, i) => expect(loss).toBeGreaterThanOrEqual(fgsmLoss[i] - 1e-5));
    expect(await verifyPerturbation({ inputs, adversarial: pgdAdversarial, epsilon, norm: 'linf' })).toEqual(new Array(64).fill(true));
    const values = pgdAdversarial.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    tf.dispose([fgsmAdversarial, pgdAdversarial]);
    dispose();
  });

  it('finds a higher loss than FGSM where one gradient sign is not the optimum (4 classes)', () => {
    const { model, inputs, labels, dispose } = linearProblem(4);

    const fgsmAdversarial = craftFgsm({ model, inputs, labels, epsilon });
    const pgdAdversarial = craftPgd({ model, inputs, labels, ...attack });

    const total = (loss: Float32Array) => loss.reduce((a, b) => a + b, 0);
    expect(total(perExampleLoss(model, pgdAdversarial, labels))).toBeGreaterThan(total(perExampleLoss(model, fgsmAdversarial, labels)));
    tf.dispose([fgsmAdversarial, pgdAdversarial]);
    dispose();
  });

  it('is FGSM when it takes one step of size ε from the input', () => {
    const { model, dispose } = linearModel([
      [0.5, -0.5],
      [-1, 0.75],
      [2, 1],
      [-0.25, 0.5],
    ]);
    const inputs = tf.tensor4d([0.5, 0.5, 0.5, 0.5, 0.05, 0.95, 0.5, 0.99], [2, 2, 2, 1]);
    const labels = tf.tensor1d([0, 1], 'int32');

    const fromPgd = craftPgd({ model, inputs, labels, epsilon: 0.1, stepSize: 0.1, steps: 1, randomStart: false });
    const fromFgsm = craftFgsm({ model, inputs, labels, epsilon: 0.1 });

    expect(Array.from(fromPgd.dataSync())).toEqual(Array.from(fromFgsm.dataSync()));
    tf.dispose([inputs, labels, fromPgd, fromFgsm]);
    dispose();
  });

  it('repeats itself for a seed, starts elsewhere for another, and leaks no tensors', () => {
    const { model, dispose } = linearModel([
      [1, -1],
      [-1, 1],
      [0.5, 0.25],
    ]);
    const inputs = tf.randomUniform([6, 3], 0, 1, 'float32', 4);
    const labels = tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32');
    const options = { model, inputs, labels, epsilon: 0.2, stepSize: 1e-3, steps: 1 };
    const before = tf.memory().numTensors;

    const a = craftPgd({ ...options, seed: 7 });
    const b = craftPgd({ ...options, seed: 7 });
    const c = craftPgd({ ...options, seed: 8 });

    expect(tf.memory().numTensors).toBe(before + 3);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync()));
    // The random start uses the ball: some coordinate moved by more than ε/2.
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(a, inputs))).dataSync()[0]);
    expect(moved).toBeGreaterThan(0.1);
    expect(moved).toBeLessThanOrEqual(0.2 + PERTURBATION_TOLERANCE);
    tf.dispose([a, b, c]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([inputs, labels]);
    dispose();
  });

  it('with norm l2 stays in the L2 ball and in [0,1], and raises the loss', async () => {
    const { model, inputs, labels, dispose } = linearProblem(4);

    const result = await pgd({ model, inputs, labels, epsilon: 0.5, stepSize: 0.1, steps: 10, norm: 'l2', seed: 5 });

    expect(Math.max(...result.l2Norms)).toBeLessThanOrEqual(0.5 + PERTURBATION_TOLERANCE);
    expect(Math.max(...result.l2Norms)).toBeGreaterThan(0.4);
    const values = result.adversarial.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    const total = (loss: Float32Array) => loss.reduce((a, b) => a + b, 0);
    expect(total(perExampleLoss(model, result.adversarial, labels))).toBeGreaterThan(total(perExampleLoss(model, inputs, labels)));
    result.adversarial.dispose();
    dispose();
  });

  it('reports per-example success only for valid, misclassified adversarial inputs', async () => {
    // logits = [x0, x1]: the margin of class 0 is x0 − x1, and PGD removes up to 2ε from it.
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.6, 0.4],
      [0.9, 0.1],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');

    const result = await pgd({ model, inputs, labels, epsilon: 0.15, stepSize: 0.05, steps: 5, seed: 1 });

    expect(result.success).toEqual([true, false]);
    expect(Array.from(result.linfNorms)).toEqual([expect.closeTo(0.15, 6), expect.closeTo(0.15, 6)]);
    tf.dispose([inputs, labels, result.adversarial]);
    dispose();
  });

  it('rejects bad arguments', () => {
    const { model, dispose } = linearModel([[1, 0]]);
    const inputs = tf.tensor2d([[0.5]]);
    const labels = tf.tensor1d([0], 'int32');
    const base = { model, inputs, labels, epsilon: 0.1, stepSize: 0.01, steps: 3, seed: 1 };

    expect(() => craftPgd({ ...base, epsilon: -1 })).toThrow(/epsilon/);
    expect(() => craftPgd({ ...base, stepSize: 0 })).toThrow(/stepSize/);
    expect(() => craftPgd({ ...base, steps: 0 })).toThrow(/steps/);
    expect(() => craftPgd({ ...base, seed: 0.5 })).toThrow(/seed/);
    expect(() => craftPgd({ ...base, norm: 'l1' as 'linf' })).toThrow(/norm/);
    tf.dispose([inputs, labels]);
    dispose();
  });
});

describe('pgd: losses, targets, restarts and BIM', () => {
  beforeAll(useCpuBackend);

  it('on a 2-class linear model reaches the analytic L∞ optimum x − ε·sign(w_y − w_other), with either loss, from any start', async () => {
    const epsilon = 0.05;
    const problem = analytic.linearProblem({ features: 10, classes: 2, examples: 30, epsilon, seed: 71 });
    for (const loss of ['ce', 'margin'] as const) {
      for (const attack of [
        await pgd({ ...problem, epsilon, loss, steps: 8, stepSize: 0.02, seed: 2 }),
        await bim({ ...problem, epsilon, loss, steps: 3, stepSize: 0.02 }),
      ]) {
        const adversarial = attack.adversarial.arraySync() as number[][];
        let optimal = 0;
        problem.rows.forEach((row, i) => {
          const y = problem.labelValues[i];
          const { margin } = analytic.worstMargin(problem.weights, row, y, epsilon, 'linf', problem.bias);
          if (Math.abs(margin) < 1e-4) return;
          expect(attack.success[i]).toBe(margin < 0);
          if (margin > 0) {
            const d = analytic.weightDifference(problem.weights, y, 1 - y);
            adversarial[i].forEach((v, k) => expect(v).toBeCloseTo(row[k] - epsilon * Math.sign(d[k]), 6));
            optimal += 1;
          }
        });
        expect(optimal).toBeGreaterThan(5);
        attack.adversarial.dispose();
      }
    }
    problem.dispose();
  });

  it('with the margin loss on 5 classes never claims an impossible success, and restarts only add successes', async () => {
    const epsilon = 0.04;
    const problem = analytic.linearProblem({ features: 10, classes: 5, examples: 40, epsilon, seed: 72 });
    const margins = problem.rows.map((row, i) => analytic.worstMargin(problem.weights, row, problem.labelValues[i], epsilon, 'linf', problem.bias).margin);
    const once = await pgd({ ...problem, epsilon, loss: 'margin', steps: 10, seed: 3 });
    const before = tf.memory().numTensors;
    const thrice = await pgd({ ...problem, epsilon, loss: 'margin', steps: 10, seed: 3, restarts: 3 });
    expect(tf.memory().numTensors).toBe(before + 1);

    expect(thrice.success.filter((s, i) => s && margins[i] >= 0)).toEqual([]);
    once.success.forEach((s, i) => expect([i, s && !thrice.success[i]]).toEqual([i, false]));
    expect(thrice.success.filter(Boolean).length).toBeGreaterThanOrEqual(0.8 * margins.filter((m) => m < -1e-3).length);
    tf.dispose([once.adversarial, thrice.adversarial]);
    problem.dispose();
  });

  it('targeted, counts a success only where the target is predicted', async () => {
    const epsilon = 0.1;
    const problem = analytic.linearProblem({ features: 10, classes: 5, examples: 20, epsilon, seed: 73 });
    // Towards the class with the third-largest logit: reachable for some examples, not all.
    const thirdLargest = problem.rows.map((row) => {
      const z = analytic.logitsOf(problem.weights, row, problem.bias);
      return z.map((v, k) => [v, k]).sort((a, b) => b[0] - a[0])[2][1];
    });
    const targets = tf.tensor1d(thirdLargest, 'int32');
    const result = await pgd({ ...problem, targets, epsilon, loss: 'margin', steps: 20 });
    const predicted = tf.tidy(() => tf.argMax(problem.model(result.adversarial), 1));
    const onTarget = Array.from(tf.tidy(() => tf.equal(predicted, targets)).dataSync(), (v) => v === 1);
    expect(result.success).toEqual(onTarget);
    expect(result.success.some(Boolean)).toBe(true);
    tf.dispose([targets, predicted, result.adversarial]);
    problem.dispose();
  });

  it('defaults to 10 steps of 2.5·ε/10, stays put at ε = 0, and BIM needs no seed', async () => {
    const problem = analytic.linearProblem({ features: 6, classes: 3, examples: 8, epsilon: 0.1, seed: 74 });
    const zero = await pgd({ ...problem, epsilon: 0 });
    expect(Array.from(zero.adversarial.dataSync())).toEqual(Array.from(problem.inputs.dataSync()));
    const explicit = craftPgd({ ...problem, epsilon: 0.1, steps: 10, stepSize: 0.025, seed: 5 });
    const defaulted = craftPgd({ ...problem, epsilon: 0.1, seed: 5 });
    expect(Array.from(defaulted.dataSync())).toEqual(Array.from(explicit.dataSync()));
    const a = await bim({ ...problem, epsilon: 0.1 });
    const b = await pgd({ ...problem, epsilon: 0.1, randomStart: false, seed: 99 });
    expect(Array.from(a.adversarial.dataSync())).toEqual(Array.from(b.adversarial.dataSync()));
    tf.dispose([zero.adversarial, explicit, defaulted, a.adversarial, b.adversarial]);
    problem.dispose();
  });
});
