import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, subsetDataset, type Dataset } from '@bulwark/data';
import { asLogitsModel } from '@bulwark/models';
import { distill, trainTeacherAtTemperature } from './distillation';
import { fgsmAt01, mlp } from './training.fixture';

describe('defensive distillation', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const digits = loadMnistDigits();
    train = subsetDataset(digits, 192);
    test = subsetDataset(digits, 32);
  });

  it('refuses a temperature that is not > 0', async () => {
    const model = mlp(1);
    const optimizer = tf.train.adam(1e-3);
    const common = { optimizer, train, test, epochs: 1, batchSize: 32, rng: createRng(1), evalAttack: fgsmAt01 };
    await expect(trainTeacherAtTemperature({ ...common, model, temperature: 0 })).rejects.toThrow(/temperature/);
    await expect(distill({ ...common, teacher: asLogitsModel(model), student: model, temperature: Number.NaN })).rejects.toThrow(/temperature/);
    model.dispose();
    optimizer.dispose();
  });
});
