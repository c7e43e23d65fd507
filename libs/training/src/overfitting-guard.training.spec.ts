import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, subsetDataset, type Dataset } from '@bulwark/data';
import { carveHeldOut } from './overfitting-guard';
import { trainClassifier, type EpochResult, type TrainOptions } from './train-classifier';
import { mlp, optimizerDigest, weightsDigest } from './training.fixture';

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

  /**
   * fgsm-rs whose learning rate jumps from 3e-3 to 30 after epoch 1: a collapse forced
   * deterministically, the way a too-large step size makes one in Wong et al.
   */
  async function collapsingRun(onCollapse: 'stop' | 'continue') {
    const tensorsBefore = tf.memory().numTensors;
    const model = mlp(1);
    const optimizer = tf.train.adam(3e-3);
    const epochs: EpochResult[] = [];
    const states: string[] = [];
    const options: TrainOptions = {
      model,
      optimizer,
      train,
      test,
      epochs: 3,
      batchSize: 32,
      rng: createRng(2),
      adversarial: { method: 'fgsm-rs', epsilon: 0.1 },
      learningRateSchedule: { kind: 'piecewise', learningRate: 3e-3, milestones: [1], factor: 1e4 },
      overfittingGuard: { heldOut, epsilon: 0.03, steps: 5, onCollapse },
      evalAttack: { attack: 'fgsm', epsilon: 0.1 },
      onEpochEnd: async (e) => {
        epochs.push(e);
        states.push(`${await weightsDigest(model)} ${await optimizerDigest(optimizer)}`);
      },
    };
    const summary = await trainClassifier(options);
    model.dispose();
    optimizer.dispose();
    // A rollback replaces the optimizer's slot variables; the old ones must not linger.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    return { summary, epochs, states };
  }

  it('rolls back to the best epoch’s weights and optimizer state when PGD accuracy collapses, and stops', async () => {
    const { summary, epochs, states } = await collapsingRun('stop');

    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    const [first, second] = epochs.map((e) => e.overfittingGuard!);
    expect(first).toEqual({
      pgdAccuracy: expect.any(Number),
      fgsmAccuracy: expect.any(Number),
      examples: 64,
      attack: { norm: 'linf', epsilon: 0.03, steps: 5, stepSize: 0.015, randomStart: true, seed: 0 },
      bestEpoch: 1,
      bestAccuracy: first.pgdAccuracy,
    });
    expect(first.pgdAccuracy).toBeGreaterThan(0.3);
    expect(second).toMatchObject({ bestEpoch: 1, bestAccuracy: first.pgdAccuracy, collapse: 'drop', rolledBackTo: 1 });
    expect(second.pgdAccuracy).toBeLessThan(first.pgdAccuracy - 0.2);
    // What epoch 2 leaves for its checkpoint, and evaluates, is epoch 1's state exactly.
    expect(states[1]).toBe(states[0]);
    expect(epochs[1].cleanAccuracy).toBe(epochs[0].cleanAccuracy);
    expect(summary).toEqual({
      epochsCompleted: 2,
      stopped: false,
      last: epochs[1],
      earlyStop: { reason: 'catastrophic-overfitting', epoch: 2, restoredEpoch: 1 },
    });
  });

  it('with onCollapse "continue", trains on from the restored state and keeps guarding', async () => {
    const { summary, epochs, states } = await collapsingRun('continue');

    expect(summary).toMatchObject({ epochsCompleted: 3, stopped: false });
    expect(summary.earlyStop).toBeUndefined();
    expect(epochs.map((e) => e.overfittingGuard!.rolledBackTo)).toEqual([undefined, 1, 1]);
    expect(states[2]).toBe(states[0]);
  });

  describe('a run that collapses from its first epoch, FGSM accuracy far above PGD accuracy', () => {
    // fgsm-rs at ε = 0.3 on MNIST, the run that was seen to overfit from epoch 1: PGD accuracy
    // near 0 while FGSM accuracy is ~0.4. There is no good epoch to drop from; only the gap shows it.
    async function firstEpochCollapse(maxGap: number | undefined) {
      const { train: larger, heldOut: largerHeldOut } = carveHeldOut(subsetDataset(loadMnistDigits(), 2200), { count: 200, seed: 1 });
      const tensorsBefore = tf.memory().numTensors;
      const model = mlp(1);
      const optimizer = tf.train.adam(1e-3);
      const epochs: EpochResult[] = [];
      const summary = await trainClassifier({
        model,
        optimizer,
        train: larger,
        test,
        epochs: 2,
        batchSize: 16,
        rng: createRng(2),
        adversarial: { method: 'fgsm-rs', epsilon: 0.3, adversarialWeight: 0.5 },
        overfittingGuard: { heldOut: largerHeldOut, steps: 5, ...(maxGap !== undefined && { maxGap }) },
        evalAttack: { attack: 'fgsm', epsilon: 0.1 },
        onEpochEnd: (e) => void epochs.push(e),
      });
      model.dispose();
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      return { summary, epochs };
    }

    it('is stopped by the gap when maxGap is set, with nothing to roll back to', async () => {
      const { summary, epochs } = await firstEpochCollapse(0.2);
      const report = epochs[0].overfittingGuard!;
      expect(report).toEqual({
        pgdAccuracy: expect.any(Number),
        fgsmAccuracy: expect.any(Number),
        examples: 200,
        attack: expect.objectContaining({ epsilon: 0.3, steps: 5 }),
        collapse: 'gap',
      });
      expect(report.fgsmAccuracy - report.pgdAccuracy).toBeGreaterThan(0.2);
      // Nothing restored, and nothing to report as restored: the run ends on epoch 1's own weights.
      expect(summary).toEqual({ epochsCompleted: 1, stopped: false, last: epochs[0], earlyStop: { reason: 'catastrophic-overfitting', epoch: 1 } });
    }, 60_000);

    it('trains on by default: the gap is measured and reported, not a collapse (it can close again)', async () => {
      const { summary, epochs } = await firstEpochCollapse(undefined);
      const reports = epochs.map((e) => e.overfittingGuard!);
      expect(reports[0].fgsmAccuracy - reports[0].pgdAccuracy).toBeGreaterThan(0.2);
      for (const report of reports) expect(report.collapse).toBeUndefined();
      expect(summary).toMatchObject({ epochsCompleted: 2, stopped: false });
      expect(summary.earlyStop).toBeUndefined();
    }, 60_000);
  });

  it('lets a healthy run train on: FGSM accuracy a little above PGD accuracy is no collapse', async () => {
    const model = mlp(1);
    const optimizer = tf.train.adam(3e-3);
    const epochs: EpochResult[] = [];
    const summary = await trainClassifier({
      model,
      optimizer,
      train,
      test,
      epochs: 2,
      batchSize: 32,
      rng: createRng(2),
      adversarial: { method: 'fgsm-rs', epsilon: 0.1 },
      overfittingGuard: { heldOut, steps: 5, maxGap: 0.2 },
      evalAttack: { attack: 'fgsm', epsilon: 0.1 },
      onEpochEnd: (e) => void epochs.push(e),
    });
    model.dispose();
    optimizer.dispose();

    const reports = epochs.map((e) => e.overfittingGuard!);
    for (const report of reports) {
      expect(report.collapse).toBeUndefined();
      expect(report.fgsmAccuracy - report.pgdAccuracy).toBeLessThan(0.1);
    }
    expect(reports.map((r) => r.bestEpoch)).toEqual([1, 2]);
    expect(summary).toMatchObject({ epochsCompleted: 2, stopped: false });
    expect(summary.earlyStop).toBeUndefined();
  });
});
