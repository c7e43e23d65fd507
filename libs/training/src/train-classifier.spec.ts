import * as tf from '@tensorflow/tfjs';
import { createRng, loadMnistDigits, splitDataset, subsetDataset, type Dataset } from '@bulwark/data';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { trainClassifier } from './train-classifier';
import { fgsmAt01, mlp } from './training.fixture';

describe('trainClassifier', () => {
  let digits: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    digits = loadMnistDigits();
  });

  it('stops at a batch boundary when asked, without finishing the epoch', async () => {
    const { train, test } = splitDataset(subsetDataset(digits, 320), { testFraction: 0.2, seed: 2 });
    const model = mlp(5);
    const optimizer = tf.train.adam(1e-3);
    let checks = 0;
    const batches: number[] = [];
    const onEpochEnd = jest.fn();
    const before = tf.memory().numTensors;

    const summary = await trainClassifier({
      model,
      optimizer,
      train,
      test,
      epochs: 3,
      startEpoch: 1,
      batchSize: 32,
      rng: createRng(6),
      evalAttack: fgsmAt01,
      shouldStop: () => Promise.resolve(++checks > 2),
      onBatchEnd: ({ batch }) => void batches.push(batch),
      onEpochEnd,
    });

    expect(summary).toEqual({ epochsCompleted: 1, stopped: true, last: undefined });
    expect(batches).toEqual([1, 2]);
    expect(onEpochEnd).not.toHaveBeenCalled();
    optimizer.dispose();
    model.dispose();
    // Adam's slot variables are gone with it; nothing else may remain.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it('rejects bad settings before training, and has nothing to do when already done', async () => {
    const { train, test } = splitDataset(subsetDataset(digits, 100), { testFraction: 0.2, seed: 2 });
    const model = mlp(5);
    const optimizer = tf.train.adam(1e-3);
    const onBatchEnd = jest.fn();
    const base = { model, optimizer, train, test, batchSize: 32, rng: createRng(6), evalAttack: fgsmAt01, onBatchEnd };

    await expect(trainClassifier({ ...base, epochs: 1, evalAttack: { attack: 'fgsm', epsilon: -1 } })).rejects.toThrow(/unsupported attack/);
    await expect(trainClassifier({ ...base, epochs: 1, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(trainClassifier({ ...base, epochs: 2, startEpoch: 2 })).resolves.toEqual({ epochsCompleted: 2, stopped: false, last: undefined });
    expect(onBatchEnd).not.toHaveBeenCalled();
    model.dispose();
    optimizer.dispose();
  });
});
