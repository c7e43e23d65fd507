import * as tf from '@tensorflow/tfjs';
import { restoreCheckpoint, restoreModelWeights, serializeCheckpoint } from '@bulwark/models';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, restoreRng, splitDataset, subsetDataset, type Dataset } from '@bulwark/data';
import { createOptimizer, type LearningRateSchedule, type OptimizerOptions } from './learning-rate-schedule';
import type { AdversarialTraining } from './methods/adversarial-training';
import { carveHeldOut, type OverfittingGuardOptions } from './overfitting-guard';
import { trainClassifier, type BatchProgress, type EpochResult, type TrainOptions } from './train-classifier';
import { fgsmAt01, mlp, optimizerDigest, weightsDigest, withoutTiming } from './training.fixture';

describe('trainClassifier with each adversarial-training method', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    ({ train, test } = splitDataset(subsetDataset(loadMnistDigits(), 256), { testFraction: 0.25, seed: 3 }));
  });

  it.each<AdversarialTraining>([
    { method: 'fgsm', epsilon: 0.1 },
    { method: 'fgsm-rs', epsilon: 0.1 },
    { method: 'pgd', epsilon: 0.1, steps: 5 },
    { method: 'trades', epsilon: 0.1, steps: 5, beta: 3 },
    { method: 'free', epsilon: 0.1, replays: 3 },
  ])('$method learns: its training loss falls over 3 epochs of 192 digits (minibatches of 40, the last of 32), leaking no tensors', async (adversarial) => {
    const before = tf.memory().numTensors;
    const model = mlp(2);
    const optimizer = tf.train.adam(1e-3);
    const epochs: EpochResult[] = [];

    await trainClassifier({
      ...{ model, optimizer, train, test, adversarial, evalAttack: fgsmAt01 },
      epochs: 3,
      batchSize: 40,
      rng: createRng(4),
      onEpochEnd: (e) => void epochs.push(e),
    });

    expect(epochs.map((e) => e.epsilon)).toEqual([0.1, 0.1, 0.1]);
    expect(epochs[2].trainLoss).toBeLessThan(0.9 * epochs[0].trainLoss);
    expect(epochs[2].cleanAccuracy).toBeGreaterThan(0.3);
    model.dispose();
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  interface ResumeCase {
    name: string;
    adversarial: AdversarialTraining;
    optimizer: OptimizerOptions;
    learningRateSchedule?: LearningRateSchedule;
    guard?: boolean;
  }

  it.each<ResumeCase>([
    {
      name: 'pgd, Adam, piecewise lr',
      adversarial: { method: 'pgd', epsilon: 0.1, steps: 3 },
      optimizer: { name: 'adam' },
      learningRateSchedule: { kind: 'piecewise', learningRate: 1e-3, milestones: [1], factor: 0.1 },
    },
    {
      name: 'fgsm-rs, SGD momentum, cyclic lr, overfitting guard',
      adversarial: { method: 'fgsm-rs', epsilon: 0.1 },
      optimizer: { name: 'sgd', momentum: 0.9 },
      learningRateSchedule: { kind: 'cyclic', maxLearningRate: 0.05 },
      guard: true,
    },
    {
      name: 'trades, ε warm-up',
      adversarial: { method: 'trades', epsilon: 0.1, steps: 2, epsilonWarmup: { unit: 'epochs', length: 2 } },
      optimizer: { name: 'adam' },
    },
    { name: 'free (δ restarts each epoch)', adversarial: { method: 'free', epsilon: 0.1, replays: 2 }, optimizer: { name: 'adam' } },
  ])('resumes bit-exactly: $name — 1 epoch, checkpoint, restore, 1 epoch == 2 epochs', async (resumeCase) => {
    const { adversarial, optimizer: optimizerSpec, learningRateSchedule, guard: withGuard } = resumeCase;
    const { train: rest, heldOut } = carveHeldOut(subsetDataset(train, 128), { count: 32, seed: 5 });
    const guard: OverfittingGuardOptions | undefined = withGuard ? { heldOut, steps: 3 } : undefined;
    const run = (overrides: Pick<TrainOptions, 'model' | 'optimizer' | 'rng' | 'epochs'> & Partial<TrainOptions>) =>
      trainClassifier({
        ...{ train: rest, test: subsetDataset(test, 32), batchSize: 32 },
        ...{ adversarial, learningRateSchedule, evalAttack: fgsmAt01, overfittingGuard: guard },
        ...overrides,
      });

    const straight = { model: mlp(3), optimizer: createOptimizer(optimizerSpec, 1e-3) };
    const straightEpochs: EpochResult[] = [];
    await run({ ...straight, rng: createRng(9), epochs: 2, onEpochEnd: (e) => void straightEpochs.push(e) });

    const first = { model: mlp(3), optimizer: createOptimizer(optimizerSpec, 1e-3) };
    const firstRng = createRng(9);
    let bytes: Buffer | undefined;
    let firstEpoch: EpochResult | undefined;
    // Interrupted, not a 1-epoch run: a cyclic schedule spans the run's 2 epochs.
    await run({
      ...first,
      rng: firstRng,
      epochs: 2,
      shouldStop: () => firstEpoch !== undefined,
      onEpochEnd: async (e) => {
        firstEpoch = e;
        bytes = await serializeCheckpoint({ ...first, epoch: e.epoch, rngState: firstRng.state() });
      },
    });
    first.model.dispose();
    first.optimizer.dispose();

    // A schedule sets every step’s rate; without one the rate is the caller’s to repeat.
    const resumed = { model: mlp(1234), optimizer: createOptimizer(optimizerSpec, learningRateSchedule ? 0.5 : 1e-3) };
    const { epoch, rngState } = await restoreCheckpoint(bytes!, resumed);
    const resumedEpochs: EpochResult[] = [];
    const guardReport = firstEpoch!.overfittingGuard;
    await run({
      ...resumed,
      rng: restoreRng(rngState),
      startEpoch: epoch,
      epochs: 2,
      onEpochEnd: (e) => void resumedEpochs.push(e),
      // The guard's best epoch so far comes back from the stored epoch results and checkpoint.
      overfittingGuard: guard && {
        ...guard,
        best: { epoch: guardReport!.bestEpoch!, accuracy: guardReport!.bestAccuracy!, checkpoint: bytes! },
      },
    });

    expect(resumedEpochs.map(withoutTiming)).toEqual([withoutTiming(straightEpochs[1])]);
    expect(await weightsDigest(resumed.model)).toBe(await weightsDigest(straight.model));
    expect(await optimizerDigest(resumed.optimizer)).toBe(await optimizerDigest(straight.optimizer));
    if (withGuard) expect(straightEpochs[1].overfittingGuard).toMatchObject({ examples: 32, bestEpoch: expect.any(Number) });
    for (const { model, optimizer } of [straight, resumed]) {
      model.dispose();
      optimizer.dispose();
    }
  });

  it('ramps ε over the warm-up, minibatch by minibatch, and reports it', async () => {
    const model = mlp(4);
    const optimizer = tf.train.adam(1e-3);
    const progress: BatchProgress[] = [];

    await trainClassifier({
      model,
      optimizer,
      train: subsetDataset(train, 96),
      test: subsetDataset(test, 16),
      epochs: 2,
      batchSize: 32,
      rng: createRng(1),
      adversarial: { method: 'fgsm', epsilon: 0.2, epsilonWarmup: { unit: 'batches', length: 4 } },
      evalAttack: fgsmAt01,
      onBatchEnd: (p) => void progress.push(p),
    });

    expect(progress).toHaveLength(6);
    [0.05, 0.1, 0.15, 0.2, 0.2, 0.2].forEach((epsilon, t) => expect(progress[t].epsilon).toBeCloseTo(epsilon, 12));
    model.dispose();
    optimizer.dispose();
  });

  it('starts from the weights it is given: a model restored from a checkpoint trains exactly as the original would', async () => {
    const small = subsetDataset(train, 64);
    const pretrained = mlp(5);
    const pretrainOptimizer = tf.train.adam(1e-3);
    const common = { train: small, test: subsetDataset(test, 16), epochs: 1, batchSize: 32, evalAttack: fgsmAt01 };
    await trainClassifier({ ...common, model: pretrained, optimizer: pretrainOptimizer, rng: createRng(2) });
    const restored = mlp(77);
    restoreModelWeights(await serializeCheckpoint({ model: pretrained, optimizer: pretrainOptimizer, epoch: 1, rngState: [1, 2, 3, 4] }), restored);

    const fineTune = async (model: tf.LayersModel) => {
      const optimizer = tf.train.adam(1e-3);
      const epochs: EpochResult[] = [];
      await trainClassifier({
        ...common,
        ...{ model, optimizer, rng: createRng(8) },
        adversarial: { method: 'fgsm-rs', epsilon: 0.1 },
        onEpochEnd: (e) => void epochs.push(e),
      });
      optimizer.dispose();
      return epochs.map(withoutTiming);
    };

    expect(await fineTune(restored)).toEqual(await fineTune(pretrained));
    expect(await weightsDigest(restored)).toBe(await weightsDigest(pretrained));
    [pretrained, restored].forEach((m) => m.dispose());
    pretrainOptimizer.dispose();
  });
});
