import * as tf from '@tensorflow/tfjs';
import { craftFgsm } from './fgsm';
import { linearModel } from './linear-model.fixture';
import type { LogitsModel } from './logits-model';
import { craftPgd, pgd } from './pgd';
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
    const model: LogitsModel = (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], -1]), weights) as tf.Tensor2D);
    const inputs = tf.randomUniform([64, 4, 5, 1], 0, 1, 'float32', 2);
    const labels = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % classes), 'int32');
    return { model, inputs, labels, dispose: () => tf.dispose([weights, inputs, labels]) };
  }

  it('never does worse than FGSM on a linear model, and stays in the ε-ball and in [0,1]', () => {
    // Two classes: the loss is monotone in one linear margin, so FGSM's corner of the box is the
    // optimum, which PGD (10 × 0.025 ≥ 2ε of travel) must reach from any random start too.
    const { model, inputs, labels, dispose } = linearProblem(2);

    const fgsmAdversarial = craftFgsm({ model, inputs, labels, epsilon });
    const pgdAdversarial = craftPgd({ model, inputs, labels, ...attack });

    const fgsmLoss = perExampleLoss(model, fgsmAdversarial, labels);
    perExampleLoss(model, pgdAdversarial, labels).forEach((loss, i) => expect(loss).toBeGreaterThanOrEqual(fgsmLoss[i] - 1e-5));
    expect(verifyPerturbation({ inputs, adversarial: pgdAdversarial, epsilon, norm: 'linf' })).toEqual(new Array(64).fill(true));
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

  it('with norm l2 stays in the L2 ball and in [0,1], and raises the loss', () => {
    const { model, inputs, labels, dispose } = linearProblem(4);

    const result = pgd({ model, inputs, labels, epsilon: 0.5, stepSize: 0.1, steps: 10, norm: 'l2', seed: 5 });

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

  it('reports per-example success only for valid, misclassified adversarial inputs', () => {
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

    const result = pgd({ model, inputs, labels, epsilon: 0.15, stepSize: 0.05, steps: 5, seed: 1 });

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
