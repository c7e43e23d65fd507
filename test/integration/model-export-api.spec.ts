import { INestApplication } from '@nestjs/common';
import * as tf from '@tensorflow/tfjs';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { loadCheckpointModel } from '../../apps/worker/src/models/run-model';
import { ApiConfig } from '../../libs/config/src';
import { RunRepository } from '../../libs/database/src';
import { createModel, saveLayersModel, serializeCheckpoint } from '../../libs/models/src';
import { CHECKPOINT_FORMAT, LAYERS_MODEL_FORMAT, LayersModelJson, TRAINING_QUEUE, encodeLayersModel, redisConnectionOptions } from '../../libs/queue/src/index';
import { DATASET_INPUT_SHAPES, DatasetName, ModelName } from '../../libs/spec/src';
import { testApiConfig } from '../support/test-config';
import { HttpClient, createTestKey, keyedHttp } from '../support/api-keys';

const FILE_SEED = 7900;
const CLASS_NAMES = Array.from({ length: 10 }, (_, i) => `class ${i}`);

/** Every weight replaced by seeded noise (variances kept positive), so a dropped or reordered weight changes the logits. */
function scramble(model: tf.LayersModel, seed: number): void {
  const values = model.weights.map((weight, i) =>
    tf.tidy(() => {
      const noise = tf.randomNormal(weight.shape as number[], 0, 0.3, 'float32', seed + i);
      return weight.originalName.endsWith('moving_variance') ? tf.add(tf.abs(noise), 0.5) : noise;
    }),
  );
  model.setWeights(values);
  tf.dispose(values);
}

/**
 * Loads a model.json URL in a plain Node process, as an app would, and prints its logits for a
 * seeded batch (base64 float32). Not inside jest: jest's sandbox has its own Array, which fails
 * tfjs's `instanceof Array` on JSON that Node's fetch parsed, something no app ever meets.
 */
const LOAD_BY_URL = `
const tf = require('@tensorflow/tfjs');
(async () => {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(process.argv[1], { requestInit: { headers: { Authorization: 'Bearer ' + process.env.BULWARK_KEY } } });
  const x = tf.randomUniform([5, ...JSON.parse(process.argv[2])], 0, 1, 'float32', 11);
  const logits = await model.predict(x).data();
  process.stdout.write(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength).toString('base64'));
})().catch((err) => { process.stderr.write(String(err.message)); process.exit(1); });
`;
const SEEDED_BATCH = 5;
const SEED = 11;

function bytesOf(tensor: tf.Tensor): Buffer {
  const values = tensor.dataSync() as Float32Array;
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

describe('model export API: checkpoints as TensorFlow.js models loaded by URL (real Postgres and Redis)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let queue: Queue;
  let runs: RunRepository;
  let http: HttpClient;
  let key: string;
  let base: string;
  let scratch: string;

  /** A run of the test tenant with one checkpoint of `model` (scrambled weights) written as the worker writes them. */
  async function runWithCheckpoint(dataset: DatasetName, model: ModelName, seed: number): Promise<{ runId: string; checkpointId: string }> {
    const res = await http()
      .post('/runs')
      .send({ kind: 'train', dataset, model, epochs: 3, batchSize: 32, seed: FILE_SEED + seed })
      .expect(201);
    const trained = createModel({ name: model, inputShape: [...DATASET_INPUT_SHAPES[dataset]], numClasses: 10, seed });
    scramble(trained, seed * 10);
    const optimizer = tf.train.adam(0.001);
    const bytes = await serializeCheckpoint({ model: trained, optimizer, epoch: 2, rngState: [1, 2, 3, 4] });
    trained.dispose();
    optimizer.dispose();
    await runs.saveCheckpoint(res.body.id, 2, bytes, createHash('sha256').update(bytes).digest('hex'), CHECKPOINT_FORMAT);
    const [checkpoint] = await runs.checkpoints(res.body.id);
    return { runId: res.body.id, checkpointId: checkpoint.id };
  }

  /** The checkpoint's model as the worker builds it to evaluate or fine-tune it. */
  async function workerModel(checkpointId: string, dataset: DatasetName): Promise<tf.LayersModel> {
    const stored = await runs.checkpointData(checkpointId);
    if (!stored) throw new Error(`checkpoint ${checkpointId} is gone`);
    return loadCheckpointModel(runs, stored, { shape: [...DATASET_INPUT_SHAPES[dataset]], classNames: CLASS_NAMES });
  }

  const modelUrl = (runId: string, checkpointId: string) => `${base}/runs/${runId}/checkpoints/${checkpointId}/model.json`;

  /** The logits a Node app gets from `tf.loadLayersModel(url)` with the key in a header. */
  async function logitsByUrl(url: string, dataset: DatasetName): Promise<Buffer> {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', LOAD_BY_URL, url, JSON.stringify(DATASET_INPUT_SHAPES[dataset])], {
      env: { ...process.env, BULWARK_KEY: key },
    });
    return Buffer.from(stdout, 'base64');
  }

  function logitsOf(model: tf.LayersModel, dataset: DatasetName): Buffer {
    return tf.tidy(() => bytesOf(model.predict(tf.randomUniform([SEEDED_BATCH, ...DATASET_INPUT_SHAPES[dataset]], 0, 1, 'float32', SEED)) as tf.Tensor));
  }

  beforeAll(async () => {
    await tf.setBackend('cpu');
    config = testApiConfig('export');
    app = await createApiApp(config, ['error', 'warn']);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    key = await createTestKey(app.get(DataSource));
    http = await keyedHttp(app);
    runs = app.get(RunRepository);
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    scratch = await mkdtemp(join(tmpdir(), 'bulwark-export-api-'));
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.each([
    ['mnist', 'mlp', 1],
    ['cifar10', 'resnet-small', 2],
  ] as const)('tf.loadLayersModel over HTTP loads a %s %s checkpoint with the logits of the worker', async (dataset, model, seed) => {
    const { runId, checkpointId } = await runWithCheckpoint(dataset, model, seed);

    const loaded = await logitsByUrl(modelUrl(runId, checkpointId), dataset);
    const expected = await workerModel(checkpointId, dataset);
    expect(loaded.length).toBe(SEEDED_BATCH * 10 * 4);
    expect(loaded.equals(logitsOf(expected, dataset))).toBe(true);
    expected.dispose();
  });

  it("names weights.bin beside model.json, records the checkpoint's epoch and sha256, and answers If-None-Match with a 304", async () => {
    const { runId, checkpointId } = await runWithCheckpoint('mnist', 'cnn-small', 3);
    const stored = await runs.checkpoint(checkpointId);
    if (!stored) throw new Error(`checkpoint ${checkpointId} is gone`);

    const res = await http().get(`/runs/${runId}/checkpoints/${checkpointId}/model.json`).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.etag).toBe(`"${stored.sha256}"`);
    expect(res.body).toMatchObject({
      format: 'layers-model',
      weightsManifest: [{ paths: ['weights.bin'] }],
      userDefinedMetadata: { bulwark: { runId, checkpointId, epoch: 2, checkpointSha256: stored.sha256, model: 'cnn-small', dataset: 'mnist' } },
    });
    const weights = await http().get(`/runs/${runId}/checkpoints/${checkpointId}/weights.bin`).buffer(true).expect(200);
    const declared = (res.body as tf.io.ModelJSON).weightsManifest[0].weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    expect((weights.body as Buffer).length).toBe(declared);

    const again = await http().get(`/runs/${runId}/checkpoints/${checkpointId}/model.json`).set('If-None-Match', res.headers.etag).expect(304);
    expect(again.text ?? '').toBe('');
    await http().get(`/runs/${runId}/checkpoints/${checkpointId}/weights.bin`).set('If-None-Match', '"another"').expect(200);
  });

  it('serves the archive as a .tar.gz that tar unpacks into a directory tf.loadLayersModel reads', async () => {
    const { runId, checkpointId } = await runWithCheckpoint('mnist', 'lenet5', 4);

    const res = await http()
      .get(`/runs/${runId}/checkpoints/${checkpointId}/model.tar.gz`)
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="run-${runId}-epoch-2.tar.gz"`);
    const file = join(scratch, 'model.tar.gz');
    await writeFile(file, res.body as Buffer);
    const untar = spawnSync('tar', ['-xzf', file, '-C', scratch], { encoding: 'utf8' });
    expect(untar.stderr).toBe('');
    expect(untar.status).toBe(0);

    const directory = join(scratch, `run-${runId}-epoch-2`);
    const modelJson = JSON.parse(await readFile(join(directory, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const weights = await readFile(join(directory, 'weights.bin'));
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    const expected = await workerModel(checkpointId, 'mnist');
    expect(logitsOf(loaded, 'mnist').equals(logitsOf(expected, 'mnist'))).toBe(true);
    [loaded, expected].forEach((m) => m.dispose());
  });

  it('serves a checkpoint stored as a Layers model (an accepted import) as it is stored', async () => {
    const { runId } = await runWithCheckpoint('mnist', 'mlp', 5);
    const model = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    scramble(model, 55);
    const { modelJson, weights } = await saveLayersModel(model);
    const bytes = encodeLayersModel(modelJson as unknown as LayersModelJson, weights);
    await runs.saveCheckpoint(runId, 0, bytes, createHash('sha256').update(bytes).digest('hex'), LAYERS_MODEL_FORMAT);
    const [imported] = await runs.checkpoints(runId);

    const loaded = await logitsByUrl(modelUrl(runId, imported.id), 'mnist');
    expect(loaded.equals(logitsOf(model, 'mnist'))).toBe(true);
    model.dispose();
  });

  it("is a 404 for another tenant's checkpoint, a checkpoint of another run and an unknown id", async () => {
    const { runId, checkpointId } = await runWithCheckpoint('mnist', 'mlp', 6);
    const other = await runWithCheckpoint('mnist', 'mlp', 7);
    const stranger = await keyedHttp(app, { tenant: 'model-export-other' });

    for (const file of ['model.json', 'weights.bin', 'model.tar.gz']) {
      await stranger().get(`/runs/${runId}/checkpoints/${checkpointId}/${file}`).expect(404);
      await http().get(`/runs/${other.runId}/checkpoints/${checkpointId}/${file}`).expect(404);
      await http().get(`/runs/${runId}/checkpoints/00000000-0000-4000-8000-000000000000/${file}`).expect(404);
    }
    await expect(logitsByUrl(modelUrl(runId, '00000000-0000-4000-8000-000000000000'), 'mnist')).rejects.toThrow(/status code 404/);
  });

  it('needs a key', async () => {
    const { runId, checkpointId } = await runWithCheckpoint('mnist', 'mlp', 8);
    const res = await fetch(modelUrl(runId, checkpointId));
    expect(res.status).toBe(401);
  });
});
