import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, subsetDataset, type Dataset } from '@bulwark/data';
import { carveHeldOut } from './overfitting-guard';
import { trainClassifier } from './train-classifier';
import { mlp } from './training.fixture';

describe('catastrophic-overfitting guard', () => {
  let train: Dataset;
  let heldOut: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const digits = loadMnistDigits();
    ({ train, heldOut } = carveHeldOut(subsetDataset(digits, 384), { count: 64, seed: 1 }));
    test = subsetDataset(digits, 32);
  });

  it('carves a fixed held-out set from the training set', () => {
    const digits = subsetDataset(loadMnistDigits(), 100);
    const a = carveHeldOut(digits, { count: 20, seed: 3 });
    const b = carveHeldOut(digits, { count: 20, seed: 3 });

    expect([a.train.size, a.heldOut.size]).toEqual([80, 20]);
    expect(Buffer.from(a.heldOut.images).equals(Buffer.from(b.heldOut.images))).toBe(true);
    expect(() => carveHeldOut(digits, { count: 100, seed: 3 })).toThrow(/held-out count/);
  });

  it('needs an ε: its own, or the training method’s, and a maxDrop and maxGap in (0, 1]', async () => {
    const model = mlp(1);
    const optimizer = tf.train.adam(1e-3);
    const base = { model, optimizer, train, test, epochs: 1, batchSize: 32, rng: createRng(1), evalAttack: { attack: 'fgsm', epsilon: 0.1 } as const };

    await expect(trainClassifier({ ...base, overfittingGuard: { heldOut } })).rejects.toThrow(/overfitting guard: epsilon/);
    await expect(trainClassifier({ ...base, adversarial: { method: 'pgd', epsilon: 0.1 }, overfittingGuard: { heldOut, maxDrop: 0 } })).rejects.toThrow(
      /maxDrop/,
    );
    for (const maxGap of [0, 1.5, Number.NaN]) {
      await expect(trainClassifier({ ...base, adversarial: { method: 'pgd', epsilon: 0.1 }, overfittingGuard: { heldOut, maxGap } })).rejects.toThrow(
        /overfitting guard: maxGap must be in \(0, 1\]/,
      );
    }
    model.dispose();
    optimizer.dispose();
  });
});
