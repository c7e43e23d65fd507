import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, subsetDataset, type Dataset } from '@bulwark/data';
import { trainableVariables } from '@bulwark/models';
import {
  assertLearningRateSchedule,
  createOptimizer,
  learningRateAt,
  setOptimizerLearningRate,
  type LearningRateSchedule,
  type OptimizerOptions,
} from './learning-rate-schedule';
import { trainClassifier, type BatchProgress, type EpochResult } from './train-classifier';
import { mlp, weightsDigest } from './training.fixture';

const at = (schedule: LearningRateSchedule, stepsPerEpoch: number, epochs: number) =>
  Array.from({ length: stepsPerEpoch * epochs }, (_, step) => learningRateAt(schedule, { step, stepsPerEpoch, epochs }));

describe('learning-rate schedules', () => {
  it('constant and piecewise: milestone m takes effect once m epochs are done', () => {
    expect(at({ kind: 'constant', learningRate: 0.01 }, 2, 2)).toEqual([0.01, 0.01, 0.01, 0.01]);
    const piecewise = at({ kind: 'piecewise', learningRate: 0.1, milestones: [2, 3], factor: 0.5 }, 2, 4);
    expect(piecewise).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
  });

  it('cyclic: a triangle from 0 to the peak and back, each step valued at the end of the step', () => {
    const cyclic = at({ kind: 'cyclic', maxLearningRate: 0.2 }, 5, 2);
    [0.04, 0.08, 0.12, 0.16, 0.2, 0.16, 0.12, 0.08, 0.04, 0].forEach((lr, step) => expect(cyclic[step]).toBeCloseTo(lr, 12));
    // Wong et al.'s MNIST schedule: peak at 2/5 of the run, from and to a floor here.
    const early = at({ kind: 'cyclic', maxLearningRate: 5e-3, minLearningRate: 1e-3, peakAt: 0.4 }, 5, 1);
    [3e-3, 5e-3, 1e-3 + 4e-3 * (2 / 3), 1e-3 + 4e-3 / 3, 1e-3].forEach((lr, step) => expect(early[step]).toBeCloseTo(lr, 12));
  });

  it.each<[unknown, RegExp]>([
    [{ kind: 'constant', learningRate: 0 }, /learningRate/],
    [{ kind: 'piecewise', learningRate: 0.1, milestones: [0], factor: 0.1 }, /milestones/],
    [{ kind: 'cyclic', maxLearningRate: 0.1, peakAt: 1 }, /peakAt/],
    [{ kind: 'cyclic', maxLearningRate: 0.1, minLearningRate: 0.2 }, /minLearningRate/],
    [{ kind: 'exponential', learningRate: 0.1 }, /unknown learning-rate schedule/],
  ])('refuses %j', (schedule, message) => {
    expect(() => assertLearningRateSchedule(schedule as LearningRateSchedule)).toThrow(message);
  });
});

describe('optimizers under a schedule', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const digits = loadMnistDigits();
    train = subsetDataset(digits, 96);
    test = subsetDataset(digits, 16);
  });

  it('creates Adam, SGD and momentum, and the rate set between steps is the one each step uses (tfjs 4.22)', async () => {
    const specs: OptimizerOptions[] = [{ name: 'adam' }, { name: 'sgd' }, { name: 'sgd', momentum: 0.9, nesterov: true }];
    const built = specs.map((spec) => createOptimizer(spec, 1e-3));
    expect(built.map((o) => o.getClassName())).toEqual(['Adam', 'SGD', 'Momentum']);
    built.forEach((o) => o.dispose());

    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const afterSteps = async (optimizer: tf.Optimizer, setTo?: number) => {
      const model = mlp(1);
      const variables = trainableVariables(model);
      for (let i = 0; i < 2; i += 1) {
        if (setTo !== undefined) setOptimizerLearningRate(optimizer, setTo);
        tf.tidy(() => {
          optimizer.minimize(() => tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(tf.oneHot(labels, 10), model.apply(x) as tf.Tensor), false, variables);
        });
      }
      const digest = await weightsDigest(model);
      model.dispose();
      optimizer.dispose();
      return digest;
    };
    for (const spec of [{ name: 'adam' }, { name: 'sgd' }, { name: 'sgd', momentum: 0.9 }] as const) {
      const reference = await afterSteps(createOptimizer(spec, 0.01));
      expect(await afterSteps(createOptimizer(spec, 0.5), 0.01)).toBe(reference);
      expect(await afterSteps(createOptimizer(spec, 0.5))).not.toBe(reference);
    }
    tf.dispose([x, labels]);
  });

  it('trainClassifier sets and reports each step’s rate; free training counts its replays as steps', async () => {
    const model = mlp(2);
    const optimizer = tf.train.adam(123);
    const schedule: LearningRateSchedule = { kind: 'cyclic', maxLearningRate: 1e-3 };
    const progress: BatchProgress[] = [];
    const epochs: EpochResult[] = [];

    // 96 examples in minibatches of 32, 2 replays each: 6 steps per epoch, 12 in the run.
    await trainClassifier({
      model,
      optimizer,
      train,
      test,
      epochs: 2,
      batchSize: 32,
      rng: createRng(1),
      adversarial: { method: 'free', epsilon: 0.1, replays: 2 },
      learningRateSchedule: schedule,
      evalAttack: { attack: 'fgsm', epsilon: 0.1 },
      onBatchEnd: (p) => void progress.push(p),
      onEpochEnd: (e) => void epochs.push(e),
    });

    const perStep = at(schedule, 6, 2);
    expect(progress.map((p) => p.learningRate)).toEqual([1, 3, 5, 7, 9, 11].map((step) => perStep[step]));
    expect(epochs.map((e) => e.learningRate)).toEqual([perStep[5], 0]);
    expect((optimizer as unknown as { learningRate: number }).learningRate).toBe(0);
    model.dispose();
    optimizer.dispose();
  });

  it('refuses a schedule for an optimizer it cannot drive', async () => {
    const model = mlp(3);
    const optimizer = tf.train.rmsprop(1e-3);
    await expect(
      trainClassifier({
        ...{ model, optimizer, train, test, epochs: 1, batchSize: 32, rng: createRng(1) },
        learningRateSchedule: { kind: 'constant', learningRate: 1e-3 },
        evalAttack: { attack: 'fgsm', epsilon: 0.1 },
      }),
    ).rejects.toThrow(/Adam, SGD and momentum/);
    model.dispose();
    optimizer.dispose();
  });
});
