import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, makeBatch, subsetDataset, type Dataset } from '@bulwark/data';
import { applyModel, asLogitsModel } from '@bulwark/models';
import { distill, trainTeacherAtTemperature } from './distillation';
import { trainClassifier, type EpochResult } from './train-classifier';
import { fgsmAt01, mlp, optimizerDigest, weightsDigest } from './training.fixture';

describe('defensive distillation', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const digits = loadMnistDigits();
    train = subsetDataset(digits, 192);
    test = subsetDataset(digits, 32);
  });

  it('trains a teacher at T, then a student on its soft labels at T whose soft-label loss falls', async () => {
    const teacher = mlp(1);
    const teacherOptimizer = tf.train.adam(1e-3);
    const teacherEpochs: EpochResult[] = [];
    await trainTeacherAtTemperature({
      ...{ model: teacher, temperature: 20, optimizer: teacherOptimizer },
      ...{ train, test, epochs: 2, batchSize: 32, rng: createRng(1), evalAttack: fgsmAt01 },
      onEpochEnd: (e) => void teacherEpochs.push(e),
    });

    const student = mlp(2);
    const studentOptimizer = tf.train.adam(1e-3);
    const studentEpochs: EpochResult[] = [];
    const summary = await distill({
      teacher: asLogitsModel(teacher),
      student,
      temperature: 20,
      optimizer: studentOptimizer,
      train,
      test,
      epochs: 3,
      batchSize: 32,
      rng: createRng(2),
      evalAttack: fgsmAt01,
      onEpochEnd: (e) => void studentEpochs.push(e),
    });

    expect(teacherEpochs[1].trainLoss).toBeLessThan(teacherEpochs[0].trainLoss);
    expect(summary).toMatchObject({ epochsCompleted: 3, stopped: false });
    expect(studentEpochs[1].trainLoss).toBeLessThan(studentEpochs[0].trainLoss);
    expect(studentEpochs[2].trainLoss).toBeLessThan(studentEpochs[1].trainLoss);
    // Deployed at T = 1: the student's own logits, evaluated as they are.
    expect(studentEpochs[2].cleanAccuracy).toBeGreaterThan(0.3);
    [teacher, student].forEach((m) => m.dispose());
    [teacherOptimizer, studentOptimizer].forEach((o) => o.dispose());
  });

  it('at T = 1 with a one-hot teacher, it is cross-entropy training on the teacher’s labels, bit for bit', async () => {
    const predictor = mlp(3);
    const predictorOptimizer = tf.train.adam(1e-3);
    await trainClassifier({ model: predictor, optimizer: predictorOptimizer, train, test, epochs: 1, batchSize: 32, rng: createRng(3), evalAttack: fgsmAt01 });
    predictorOptimizer.dispose();
    // Scaled logits make softmax exactly one-hot in float32: a fixed one-hot predictor.
    const teacher = (x: tf.Tensor) => tf.tidy(() => tf.mul<tf.Tensor2D>(applyModel(predictor, x, false), 1e6));
    const all = makeBatch(
      train,
      Uint32Array.from({ length: train.size }, (_, i) => i),
    );
    const [probabilities, predicted] = tf.tidy((): tf.Tensor[] => [tf.softmax(teacher(all.x)), tf.argMax(teacher(all.x), 1)]);
    const teacherLabels = Uint8Array.from(await predicted.data());
    expect(Array.from(await probabilities.data()).every((p) => p === 0 || p === 1)).toBe(true);
    expect(new Set(teacherLabels).size).toBeGreaterThanOrEqual(5);
    tf.dispose([all.x, all.y, probabilities, predicted]);

    const viaDistill = { model: mlp(4), optimizer: tf.train.adam(1e-3) };
    const viaLabels = { model: mlp(4), optimizer: tf.train.adam(1e-3) };
    const distilled: EpochResult[] = [];
    const labelled: EpochResult[] = [];
    const common = { test, epochs: 1, batchSize: 64, evalAttack: fgsmAt01 };
    await distill({
      ...common,
      ...{ teacher, student: viaDistill.model, optimizer: viaDistill.optimizer, temperature: 1, train, rng: createRng(5) },
      onEpochEnd: (e) => void distilled.push(e),
    });
    await trainClassifier({
      ...common,
      ...viaLabels,
      ...{ train: { ...train, labels: teacherLabels }, rng: createRng(5) },
      onEpochEnd: (e) => void labelled.push(e),
    });

    expect(distilled[0].trainLoss).toBe(labelled[0].trainLoss);
    expect(await weightsDigest(viaDistill.model)).toBe(await weightsDigest(viaLabels.model));
    expect(await optimizerDigest(viaDistill.optimizer)).toBe(await optimizerDigest(viaLabels.optimizer));
    [predictor, viaDistill.model, viaLabels.model].forEach((m) => m.dispose());
    [viaDistill.optimizer, viaLabels.optimizer].forEach((o) => o.dispose());
  });
});
