import * as tf from '@tensorflow/tfjs';
import { LAYERS_MODEL_FORMAT, LAYERS_UPLOAD_FORMAT, decodeLayersModel } from '../../libs/queue/src/index';
import { loadMnistDigits, makeBatch } from '../../libs/data/src';
import { saveLayersModel } from '../../libs/models/src';
import { selectBackend } from '../../libs/tfjs-runtime/src';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt } from '../support/processes';

jest.setTimeout(180_000);

interface Metric {
  key: string;
  step: number;
  value: number;
}

/**
 * The seed's flow through real processes: a pretrained TensorFlow.js model (a softmax
 * classifier, as Keras and tfjs users save them) is uploaded, imported by a worker, trained
 * adversarially from its weights and evaluated.
 */
describe('imported models end to end (API + worker processes)', () => {
  let cluster: TestCluster;
  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const waitForEnd = (id: string, timeoutMs: number) => cluster.runEnded(id, timeoutMs, 300);
  const metrics = async (id: string): Promise<Metric[]> => (await call('GET', `/runs/${id}/metrics`)).body.items;

  /** A model.json + weights body as tensorflowjs_converter's output would make it. */
  async function uploadBody(model: tf.LayersModel, name: string) {
    const { modelJson, weights } = await saveLayersModel(model);
    modelJson.weightsManifest[0].paths = ['group1-shard1of1.bin'];
    return { dataset: 'mnist', name, modelJson, weights: Buffer.from(weights).toString('base64') };
  }

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e-import');
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-8000)}`);
    }
  });

  it('imports a pretrained softmax model, trains it adversarially from its weights and evaluates both', async () => {
    // The "pretrained" model: a small dense net fitted on 600 digits, ending in a softmax.
    const pretrained = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    pretrained.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const { x, y } = makeBatch(
      loadMnistDigits(),
      Uint32Array.from({ length: 600 }, (_, i) => i),
    );
    const labels = tf.oneHot(y, 10);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- tfjs does not export ModelLoggingVerbosity; 0 is SILENT
    await pretrained.fit(x, labels, { epochs: 8, batchSize: 50, shuffle: false, verbose: 0 });
    tf.dispose([x, y, labels]);

    const submitted = await call('POST', '/models/import', await uploadBody(pretrained, 'dense digits'));
    pretrained.dispose();
    expect(submitted.status).toBe(201);
    expect(submitted.body).toMatchObject({ kind: 'import', status: 'queued', spec: { dataset: 'mnist', model: 'imported', name: 'dense digits' } });

    const imported = await waitForEnd(submitted.body.id, 60_000);
    expect(imported.error).toBeNull();
    expect(imported).toMatchObject({ kind: 'import', status: 'succeeded', attempts: 1, backend: { name: 'wasm' } });
    expect(imported.result.model).toMatchObject({ logits: 'softmax-activation-removed', outputActivation: 'linear', inputShape: [28, 28, 1], numClasses: 10 });
    const importMetrics = await metrics(imported.id);
    const at0 = (key: string) => importMetrics.find((m) => m.key === key && m.step === 0)?.value;
    expect(at0('test_examples')).toBe(2000);
    // Fitted on 600 digits: far above chance (0.1) on the held-out 2,000.
    expect(at0('test_clean_accuracy')).toBeGreaterThan(0.6);
    expect(at0('test_fgsm_accuracy')).toBeLessThan(at0('test_clean_accuracy')!);

    // The upload was replaced, under the same checkpoint id, by the model as accepted: its logits.
    const [checkpoint] = (await call('GET', `/runs/${imported.id}/checkpoints`)).body.items;
    expect(checkpoint).toMatchObject({ id: imported.result.checkpoint.id, epoch: 0, format: LAYERS_MODEL_FORMAT, sha256: imported.result.checkpoint.sha256 });
    const stored = decodeLayersModel(
      Buffer.from(await (await fetch(`${cluster.base}/runs/${imported.id}/checkpoints/${checkpoint.id}`, { headers: cluster.auth })).arrayBuffer()),
    );
    expect(JSON.stringify(stored.modelJson.modelTopology)).not.toContain('"softmax"');

    const fineTuning = await call('POST', '/runs', {
      kind: 'adversarial-training',
      dataset: 'mnist',
      model: 'imported',
      attack: { name: 'fgsm', epsilon: 0.1 },
      epochs: 1,
      batchSize: 128,
      seed: 2,
      fromCheckpoint: checkpoint.id,
    });
    expect(fineTuning.status).toBe(201);
    expect(fineTuning.body).toMatchObject({
      parentRunId: imported.id,
      parentCheckpointId: checkpoint.id,
      spec: { importedModel: { runId: imported.id, checkpointId: checkpoint.id } },
    });
    const trained = await waitForEnd(fineTuning.body.id, 90_000);
    expect(trained.error).toBeNull();
    expect(trained.status).toBe('succeeded');
    expect(cluster.worker.output()).toContain(`run ${trained.id}: starting from checkpoint ${checkpoint.id}`);
    const trainedMetrics = await metrics(trained.id);
    expect(trainedMetrics.filter((m) => m.key === 'train_loss').map((m) => m.step)).toEqual([1]);
    // Started from the pretrained weights: accurate after one epoch, and more robust than before.
    const after = (key: string) => trainedMetrics.find((m) => m.key === key)!.value;
    expect(after('test_clean_accuracy')).toBeGreaterThan(0.6);
    expect(after('test_fgsm_accuracy')).toBeGreaterThan(at0('test_fgsm_accuracy')!);
    expect((await call('GET', `/runs/${trained.id}/checkpoints`)).body.items.map((c: { epoch: number }) => c.epoch)).toEqual([1]);
    console.log(
      `imported model: clean ${String(at0('test_clean_accuracy'))}, FGSM ε=0.1 ${String(at0('test_fgsm_accuracy'))}; ` +
        `after 1 epoch of FGSM training: clean ${after('test_clean_accuracy')}, FGSM ${after('test_fgsm_accuracy')} (n = 2000)`,
    );

    // Both models evaluated the way any other is: quick suite, a small seeded subset.
    for (const runId of [trained.id, imported.id]) {
      const evaluation = await call('POST', '/evaluations', {
        runId,
        epsilons: [0.1],
        suite: 'quick',
        examples: 40,
        seed: 1,
        galleryPerEpsilon: 0,
        params: { pgd: { steps: 5 } },
      });
      expect(evaluation.status).toBe(201);
      expect(evaluation.body.spec.model).toBe('imported');
      await waitForEnd(evaluation.body.id, 60_000);
      const view = (await call('GET', `/evaluations/${evaluation.body.id}`)).body;
      expect(view.run.error).toBeNull();
      expect(view.run.status).toBe('succeeded');
      expect(view.curve).toEqual([expect.objectContaining({ epsilon: 0.1, n: 40 })]);
      expect(view.curve[0].robustAccuracy.suite).toBeLessThanOrEqual(view.curve[0].cleanAccuracy);
    }
  });

  it("fails the import of a model whose input shape is not the dataset's, at once and saying why", async () => {
    const wrongShape = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 10, activation: 'softmax' })] });
    const submitted = await call('POST', '/models/import', await uploadBody(wrongShape, 'thumbnails'));
    wrongShape.dispose();
    expect(submitted.status).toBe(201);

    const run = await waitForEnd(submitted.body.id, 30_000);
    expect(run.status).toBe('failed');
    expect(run.error).toBe("the model in the upload takes inputs of shape [8, 8, 1] but the dataset's examples have shape [28, 28, 1]");
    expect(run.attempts).toBe(1);
    const [upload] = (await call('GET', `/runs/${run.id}/checkpoints`)).body.items;
    expect(upload.format).toBe(LAYERS_UPLOAD_FORMAT);
    const refused = await call('POST', '/runs', {
      kind: 'train',
      dataset: 'mnist',
      model: 'imported',
      epochs: 1,
      batchSize: 64,
      seed: 1,
      fromCheckpoint: upload.id,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toEqual([expect.stringContaining(`is the upload of import run ${run.id}, which is failed`)]);
  });
});
