import * as tf from '@tensorflow/tfjs';
import { createRng, loadMnistDigits, splitDataset, subsetDataset, type Dataset } from '@bulwark/data';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { trainClassifier, type BatchProgress, type EpochResult } from './train-classifier';
import { fgsmAt01, mlp } from './training.fixture';

describe('trainClassifier', () => {
  let digits: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    digits = loadMnistDigits();
  });

  it('learns real digits: mlp, 2 epochs on 1,600 examples, clean test accuracy > 0.8', async () => {
    const { train, test } = splitDataset(subsetDataset(digits, 2000), { testFraction: 0.2, seed: 1 });
    const model = mlp(1);
    const optimizer = tf.train.adam(1e-3);
    const epochs: EpochResult[] = [];
    const progress: BatchProgress[] = [];

    const summary = await trainClassifier({
      model,
      optimizer,
      train,
      test,
      epochs: 2,
      batchSize: 64,
      rng: createRng(1),
      evalAttack: fgsmAt01,
      onBatchEnd: (p) => void progress.push(p),
      onEpochEnd: (e) => void epochs.push(e),
    });

    expect(summary).toEqual({ epochsCompleted: 2, stopped: false, last: epochs[1] });
    expect(epochs.map((e) => [e.epoch, e.testExamples])).toEqual([
      [1, 400],
      [2, 400],
    ]);
    expect(progress.length).toBe(50);
    expect(progress[49]).toMatchObject({ epoch: 2, batch: 25, batches: 25 });
    expect(epochs[1].trainLoss).toBeLessThan(epochs[0].trainLoss);
    expect(epochs[1].cleanAccuracy).toBeGreaterThan(0.8);
    expect(epochs[1].adversarialAccuracy).toBeLessThanOrEqual(epochs[1].cleanAccuracy);
    model.dispose();
    optimizer.dispose();
  });

  it('is deterministic and leaks no tensors under FGSM adversarial training', async () => {
    const { train, test } = splitDataset(subsetDataset(digits, 320), { testFraction: 0.2, seed: 2 });
    const runOnce = async () => {
      const model = mlp(5);
      const optimizer = tf.train.adam(1e-3);
      const results: Omit<EpochResult, 'seconds' | 'cpuSeconds'>[] = [];
      const timings: Array<Pick<EpochResult, 'seconds' | 'cpuSeconds'>> = [];
      await trainClassifier({
        model,
        optimizer,
        train,
        test,
        epochs: 2,
        batchSize: 32,
        rng: createRng(6),
        adversarial: fgsmAt01,
        evalAttack: fgsmAt01,
        onEpochEnd: ({ seconds, cpuSeconds, ...rest }) => {
          results.push(rest);
          timings.push({ seconds, cpuSeconds });
        },
      });
      model.dispose();
      optimizer.dispose();
      // The epoch's CPU time is measured in Node; single-threaded kernels keep it near the wall time.
      for (const { seconds, cpuSeconds } of timings) {
        expect(cpuSeconds).toBeGreaterThan(0);
        expect(cpuSeconds).toBeLessThan(seconds * 4);
      }
      return results;
    };
    const before = tf.memory().numTensors;

    const first = await runOnce();
    const second = await runOnce();

    expect(tf.memory().numTensors).toBe(before);
    expect(second).toEqual(first);
    expect(first[1].trainLoss).toBeGreaterThan(0);
  });
});
