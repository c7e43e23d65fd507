import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { checkpointDigest, createModel, readCheckpointHeader, restoreCheckpoint, serializeCheckpoint } from '@bulwark/models';
import { createRng, loadMnistDigits, restoreRng, splitDataset, subsetDataset, type Dataset } from '@bulwark/data';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { trainClassifier, type EpochResult, type TrainOptions } from './train-classifier';
import { mlp, withoutTiming } from './training.fixture';

async function values(tensors: tf.Tensor[]): Promise<number[][]> {
  return Promise.all(tensors.map(async (t) => Array.from(await t.data())));
}

async function optimizerValues(optimizer: tf.Optimizer): Promise<number[][]> {
  const weights = await optimizer.getWeights();
  const result = await values(weights.map((w) => w.tensor));
  weights[0].tensor.dispose();
  return result;
}

describe('checkpoints', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    ({ train, test } = splitDataset(subsetDataset(loadMnistDigits(), 320), { testFraction: 0.2, seed: 4 }));
  });

  function run(overrides: Partial<TrainOptions> & Pick<TrainOptions, 'model' | 'optimizer' | 'rng' | 'epochs'>) {
    return trainClassifier({
      train,
      test,
      batchSize: 32,
      adversarial: { attack: 'fgsm', epsilon: 0.1 },
      evalAttack: { attack: 'fgsm', epsilon: 0.1 },
      ...overrides,
    });
  }

  it('round-trips weights and Adam state bit-exactly into a fresh model and optimizer', async () => {
    const model = mlp(1);
    const optimizer = tf.train.adam(1e-3);
    const rng = createRng(2);
    await run({ model, optimizer, rng, epochs: 1 });
    const bytes = await serializeCheckpoint({ model, optimizer, epoch: 1, rngState: rng.state() });

    const freshModel = mlp(77);
    const freshOptimizer = tf.train.adam(1e-3);
    // A fresh Adam has no moment variables yet: restore must create them.
    expect((await freshOptimizer.getWeights()).length).toBe(1);
    const restored = await restoreCheckpoint(bytes, { model: freshModel, optimizer: freshOptimizer });

    expect(restored).toEqual({ epoch: 1, rngState: rng.state() });
    expect(await values(freshModel.getWeights())).toEqual(await values(model.getWeights()));
    expect(await optimizerValues(freshOptimizer)).toEqual(await optimizerValues(optimizer));
    expect(checkpointDigest(await serializeCheckpoint({ model: freshModel, optimizer: freshOptimizer, epoch: 1, rngState: rng.state() }))).toBe(
      checkpointDigest(bytes),
    );
    [model, freshModel].forEach((m) => m.dispose());
    [optimizer, freshOptimizer].forEach((o) => o.dispose());
  });

  it('gives the same bytes for the same training whatever the process built before', async () => {
    const train = async () => {
      const model = mlp(5);
      const optimizer = tf.train.adam(1e-3);
      const rng = createRng(6);
      await run({ model, optimizer, rng, epochs: 1 });
      const bytes = await serializeCheckpoint({ model, optimizer, epoch: 1, rngState: rng.state() });
      const names = model.trainableWeights.map((w) => w.name);
      model.dispose();
      optimizer.dispose();
      return { bytes, names };
    };
    const first = await train();
    const second = await train();
    // tfjs gave the second model's variables other names (e.g. a `_1` suffix) ...
    expect(second.names).not.toEqual(first.names);
    // ... which its Adam slots used to carry into the checkpoint's header.
    expect(checkpointDigest(second.bytes)).toBe(checkpointDigest(first.bytes));
    const slots = readCheckpointHeader(second.bytes)
      .tensors.filter((t) => t.role === 'optimizer')
      .map((t) => t.name);
    const reference = mlp(5);
    expect(slots.slice(1, 3)).toEqual(reference.trainableWeights.slice(0, 2).map((w) => `${w.originalName}/m`));
    reference.dispose();
  });

  it('resumes: 1 epoch, checkpoint, restore into fresh objects, 1 more epoch == 2 uninterrupted epochs', async () => {
    const straightModel = mlp(3);
    const straightOptimizer = tf.train.adam(1e-3);
    const straightEpochs: EpochResult[] = [];
    await run({ model: straightModel, optimizer: straightOptimizer, rng: createRng(9), epochs: 2, onEpochEnd: (e) => void straightEpochs.push(e) });

    const firstModel = mlp(3);
    const firstOptimizer = tf.train.adam(1e-3);
    const firstRng = createRng(9);
    let bytes: Buffer | undefined;
    await run({
      model: firstModel,
      optimizer: firstOptimizer,
      rng: firstRng,
      epochs: 1,
      onEpochEnd: async (e) => {
        bytes = await serializeCheckpoint({ model: firstModel, optimizer: firstOptimizer, epoch: e.epoch, rngState: firstRng.state() });
      },
    });
    firstModel.dispose();
    firstOptimizer.dispose();

    const resumedModel = mlp(1234);
    const resumedOptimizer = tf.train.adam(1e-3);
    const { epoch, rngState } = await restoreCheckpoint(bytes!, { model: resumedModel, optimizer: resumedOptimizer });
    const resumedEpochs: EpochResult[] = [];
    const summary = await run({
      model: resumedModel,
      optimizer: resumedOptimizer,
      rng: restoreRng(rngState),
      startEpoch: epoch,
      epochs: 2,
      onEpochEnd: (e) => void resumedEpochs.push(e),
    });

    expect(summary).toMatchObject({ epochsCompleted: 2, stopped: false });
    expect(resumedEpochs.map(withoutTiming)).toEqual([withoutTiming(straightEpochs[1])]);
    expect(await values(resumedModel.getWeights())).toEqual(await values(straightModel.getWeights()));
    expect(await optimizerValues(resumedOptimizer)).toEqual(await optimizerValues(straightOptimizer));
    [straightModel, resumedModel].forEach((m) => m.dispose());
    [straightOptimizer, resumedOptimizer].forEach((o) => o.dispose());
  });

  it('describes itself and refuses what it cannot restore', async () => {
    const model = mlp(1);
    const optimizer = tf.train.adam(1e-3);
    const bytes = await serializeCheckpoint({ model, optimizer, epoch: 0, rngState: [1, 2, 3, 4] });

    const header = readCheckpointHeader(bytes);
    expect(header).toMatchObject({ format: 'bulwark-checkpoint', epoch: 0, rngState: [1, 2, 3, 4], modelName: 'mlp', optimizer: 'Adam' });
    expect(header.tensors.map((t) => t.name)).toEqual([
      'dense1/kernel',
      'dense1/bias',
      'dense2/kernel',
      'dense2/bias',
      'logits/kernel',
      'logits/bias',
      'iter',
      'accBeta1',
      'accBeta2',
    ]);
    expect(header.tensors[0]).toMatchObject({ role: 'model', shape: [784, 256], dtype: 'float32', byteLength: 784 * 256 * 4 });
    expect(checkpointDigest(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));

    const cnn = createModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const cnnBefore = await values(cnn.getWeights());
    await expect(restoreCheckpoint(bytes, { model: cnn, optimizer: tf.train.adam() })).rejects.toThrow(/do not fit model/);
    expect(await values(cnn.getWeights())).toEqual(cnnBefore);
    await expect(restoreCheckpoint(bytes, { model, optimizer: tf.train.sgd(0.1) })).rejects.toThrow(/Adam state/);
    const corrupt = Buffer.from(bytes);
    corrupt[0] ^= 0xff;
    expect(() => readCheckpointHeader(corrupt)).toThrow(/bad magic/);
    expect(() => readCheckpointHeader(bytes.subarray(0, bytes.length - 8))).toThrow(/truncated/);
    [model, cnn].forEach((m) => m.dispose());
    optimizer.dispose();
  });
});
