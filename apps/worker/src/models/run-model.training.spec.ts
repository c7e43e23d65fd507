import * as tf from '@tensorflow/tfjs';
import type { Run } from '@bulwark/database';
import { CHECKPOINT_FORMAT, LAYERS_MODEL_FORMAT, LAYERS_UPLOAD_FORMAT, LayersModelJson, encodeLayersModel } from '@bulwark/queue';
import { IMPORTED_MODEL, RunSpec, TrainingRunSpec } from '@bulwark/spec';
import { Dataset, createRng, loadMnistDigits, restoreRng, splitDataset, subsetDataset } from '@bulwark/data';
import { createModel, restoreCheckpoint, saveLayersModel, serializeCheckpoint } from '@bulwark/models';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { EpochResult, trainClassifier } from '@bulwark/training';
import { ModelStore, StoredCheckpoint, buildRunModel, encodeStoredModel, importStoredModel, loadCheckpointModel } from './run-model';

/** Postgres as buildRunModel reads it: runs and checkpoints by id. */
class FakeStore implements ModelStore {
  readonly runs = new Map<string, Pick<Run, 'id' | 'spec'>>();
  readonly checkpoints = new Map<string, StoredCheckpoint & { epoch: number }>();

  find(id: string) {
    return Promise.resolve((this.runs.get(id) as Run | undefined) ?? null);
  }
  checkpointAt(runId: string, epoch: number) {
    return this.asStored([...this.checkpoints.values()].find((c) => c.runId === runId && c.epoch === epoch));
  }
  checkpointData(id: string) {
    return this.asStored(this.checkpoints.get(id));
  }
  private asStored(checkpoint: (StoredCheckpoint & { epoch: number }) | undefined) {
    return Promise.resolve((checkpoint ?? null) as Awaited<ReturnType<ModelStore['checkpointData']>>);
  }
}

const trainingSpec = (overrides: Partial<TrainingRunSpec>): TrainingRunSpec => ({
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: IMPORTED_MODEL,
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 32,
  seed: 5,
  learningRate: 1e-3,
  testFraction: 0.2,
  ...overrides,
});

const predictionBytes = (model: tf.LayersModel, x: tf.Tensor) =>
  tf.tidy(() => Buffer.from(((model.predict(x) as tf.Tensor).dataSync() as Float32Array).slice().buffer));

describe('building a run model: zoo or imported, one function for training, evaluation and teachers', () => {
  let train: Dataset;
  let test: Dataset;
  let x: tf.Tensor;
  let store: FakeStore;
  /** The user's model as uploaded: it ends in a softmax. */
  let original: tf.Sequential;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    ({ train, test } = splitDataset(subsetDataset(loadMnistDigits(), 320), { testFraction: 0.2, seed: 4 }));
    x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 8);
    original = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const { modelJson, weights } = await saveLayersModel(original);

    // What POST /models/import stores, and what the import job makes of it.
    store = new FakeStore();
    const importSpec: RunSpec = {
      kind: 'import',
      dataset: 'mnist',
      model: IMPORTED_MODEL,
      attack: { name: 'fgsm', epsilon: 0.1 },
      seed: 0,
      testFraction: 0.2,
      upload: { sha256: 'a'.repeat(64), sizeBytes: 0, weightBytes: weights.length },
    };
    store.runs.set('import-run', { id: 'import-run', spec: importSpec });
    const upload = {
      id: 'import-checkpoint',
      runId: 'import-run',
      epoch: 0,
      format: LAYERS_UPLOAD_FORMAT,
      data: encodeLayersModel(modelJson as unknown as LayersModelJson, weights),
    };
    const { model: imported, info } = await importStoredModel(upload, test, 'the upload');
    expect(info.logits).toBe('softmax-activation-removed');
    store.checkpoints.set(upload.id, { ...upload, format: LAYERS_MODEL_FORMAT, data: await encodeStoredModel(imported) });
    imported.dispose();
  });

  afterAll(() => {
    x.dispose();
    original.dispose();
  });

  it('builds a zoo run exactly as createModel does with the run seed', async () => {
    const run = { id: 'zoo', spec: trainingSpec({ model: 'mlp' }) };
    const built = await buildRunModel(store, run, train, 5);
    const reference = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    expect(predictionBytes(built, x).equals(predictionBytes(reference, x))).toBe(true);
    [built, reference].forEach((m) => m.dispose());
  });

  it("builds an import run's model from its accepted checkpoint: the uploaded model's logits", async () => {
    const built = await buildRunModel(store, store.runs.get('import-run')!, test, 0);
    const probabilities = original.predict(x) as tf.Tensor;
    const softmaxed = tf.softmax(built.predict(x) as tf.Tensor);
    const [p, q] = [(await probabilities.array()) as number[][], (await softmaxed.array()) as number[][]];
    p.forEach((row, i) => row.forEach((value, j) => expect(q[i][j]).toBeCloseTo(value, 6)));
    tf.dispose([probabilities, softmaxed]);
    built.dispose();
  });

  it('trains a run from the import and resumes it from its own checkpoint bit-exactly (1 + 1 epochs == 2)', async () => {
    const run = { id: 'fine-tune', spec: trainingSpec({ importedModel: { runId: 'import-run', checkpointId: 'import-checkpoint' } }) };
    store.runs.set(run.id, run);
    const loop = { train, test, batchSize: 32, adversarial: { method: 'fgsm' as const, epsilon: 0.1 }, evalAttack: { attack: 'fgsm' as const, epsilon: 0.1 } };
    const withoutTiming = ({ seconds: _s, cpuSeconds: _c, ...rest }: EpochResult) => rest;

    const straight = await buildRunModel(store, run, train, 5);
    const straightOptimizer = tf.train.adam(1e-3);
    const straightEpochs: EpochResult[] = [];
    await trainClassifier({
      ...loop,
      model: straight,
      optimizer: straightOptimizer,
      rng: createRng(9),
      epochs: 2,
      onEpochEnd: (e) => void straightEpochs.push(e),
    });

    const first = await buildRunModel(store, run, train, 5);
    const firstOptimizer = tf.train.adam(1e-3);
    const firstRng = createRng(9);
    let bytes: Buffer | undefined;
    await trainClassifier({
      ...loop,
      model: first,
      optimizer: firstOptimizer,
      rng: firstRng,
      epochs: 1,
      onEpochEnd: async (e) => {
        bytes = await serializeCheckpoint({ model: first, optimizer: firstOptimizer, epoch: e.epoch, rngState: firstRng.state() });
      },
    });
    store.checkpoints.set('fine-tune-1', { id: 'fine-tune-1', runId: run.id, epoch: 1, format: CHECKPOINT_FORMAT, data: bytes! });

    // What an evaluation or a distillation teacher gets for that checkpoint: the same model.
    const evaluated = await loadCheckpointModel(store, store.checkpoints.get('fine-tune-1')!, test);
    expect(predictionBytes(evaluated, x).equals(predictionBytes(first, x))).toBe(true);

    const resumed = await buildRunModel(store, run, train, 5);
    const resumedOptimizer = tf.train.adam(1e-3);
    const { epoch, rngState } = await restoreCheckpoint(bytes!, { model: resumed, optimizer: resumedOptimizer });
    const resumedEpochs: EpochResult[] = [];
    await trainClassifier({
      ...loop,
      model: resumed,
      optimizer: resumedOptimizer,
      rng: restoreRng(rngState),
      startEpoch: epoch,
      epochs: 2,
      onEpochEnd: (e) => void resumedEpochs.push(e),
    });

    expect(resumedEpochs.map(withoutTiming)).toEqual([withoutTiming(straightEpochs[1])]);
    expect(predictionBytes(resumed, x).equals(predictionBytes(straight, x))).toBe(true);
    [straight, first, evaluated, resumed].forEach((m) => m.dispose());
    [straightOptimizer, firstOptimizer, resumedOptimizer].forEach((o) => o.dispose());
  });

  it('fails for good, saying why, where no model can be built', async () => {
    const reasons = async (promise: Promise<unknown>) =>
      promise.then(
        () => 'built',
        (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)),
      );

    store.checkpoints.set('pending', { id: 'pending', runId: 'pending-import', epoch: 0, format: LAYERS_UPLOAD_FORMAT, data: Buffer.alloc(0) });
    const pending = { id: 'pending-run', spec: trainingSpec({ importedModel: { runId: 'pending-import', checkpointId: 'pending' } }) };
    expect(await reasons(buildRunModel(store, pending, train, 0))).toBe(
      `UnrecoverableError: checkpoint pending holds ${LAYERS_UPLOAD_FORMAT}, not an imported model: its import has not succeeded`,
    );
    const gone = { id: 'gone', spec: trainingSpec({ importedModel: { runId: 'x', checkpointId: 'deleted' } }) };
    expect(await reasons(buildRunModel(store, gone, train, 0))).toBe('UnrecoverableError: the imported model run gone was built from is no longer stored');
    const evaluation = { id: 'evaluation', spec: { kind: 'evaluation' } as RunSpec };
    expect(await reasons(buildRunModel(store, evaluation, train, 0))).toBe('UnrecoverableError: run evaluation (evaluation) holds no model');

    const cifarShaped = { shape: [32, 32, 3] as [number, number, number], classNames: train.classNames };
    expect(await reasons(importStoredModel(store.checkpoints.get('import-checkpoint')!, cifarShaped, 'the upload'))).toBe(
      "UnrecoverableError: the model in the upload takes inputs of shape [28, 28, 1] but the dataset's examples have shape [32, 32, 3]",
    );
  });
});
