import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { Checkpoint, Run, RunRepository } from '../../libs/database/src';
import {
  CHECKPOINT_FORMAT,
  EVALUATION_QUEUE,
  LAYERS_MODEL_FORMAT,
  LAYERS_UPLOAD_FORMAT,
  TRAINING_QUEUE,
  decodeLayersModel,
  redisConnectionOptions,
} from '../../libs/queue/src/index';
import { ImportRunSpec, TrainingRunSpec } from '../../libs/spec/src';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

/** model.json of a softmax classifier on 28×28×1 digits, as tensorflowjs_converter writes it (the API never loads it). */
const modelJson = {
  format: 'layers-model',
  generatedBy: 'keras v2.15.0',
  convertedBy: 'TensorFlow.js Converter v4.22.0',
  modelTopology: {
    keras_version: '2.15.0',
    backend: 'tensorflow',
    model_config: {
      class_name: 'Sequential',
      config: {
        name: 'digits',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 28, 28, 1], dtype: 'float32', name: 'input_1' } },
          { class_name: 'Flatten', config: { name: 'flatten', data_format: 'channels_last' } },
          { class_name: 'Dense', config: { name: 'probabilities', units: 10, activation: 'softmax', use_bias: true } },
        ],
      },
    },
  },
  weightsManifest: [
    {
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'probabilities/kernel', shape: [784, 10], dtype: 'float32' },
        { name: 'probabilities/bias', shape: [10], dtype: 'float32' },
      ],
    },
  ],
};
const WEIGHT_BYTES = (784 * 10 + 10) * 4;
const weights = Buffer.from(Float32Array.from({ length: WEIGHT_BYTES / 4 }, (_, i) => Math.sin(i) / 10).buffer);
const upload = { dataset: 'mnist', modelJson, weights: weights.toString('base64'), name: 'keras digits' };

const fineTune = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'imported',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 1,
  batchSize: 64,
  seed: 3,
};

describe('models API: importing a TensorFlow.js model (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let trainingQueue: Queue;
  let evaluationQueue: Queue;
  let dataSource: DataSource;
  let http: HttpClient;
  /**
   * Rows this file's requests could have stored: its imports (all named by `upload`) and any run
   * derived from them. Other test files write to the same database at the same time, so a
   * table-wide count would see their rows too.
   */
  const counts = async () => {
    const [{ runs, checkpoints }] = await dataSource.query<{ runs: number; checkpoints: number }[]>(
      `WITH ours AS (
         SELECT id FROM runs WHERE kind = 'import' AND spec->>'name' = $1
         UNION SELECT r.id FROM runs r JOIN runs i ON r.parent_run_id = i.id WHERE i.kind = 'import' AND i.spec->>'name' = $1
       )
       SELECT (SELECT count(*) FROM ours)::int AS runs, (SELECT count(*) FROM checkpoints WHERE run_id IN (SELECT id FROM ours))::int AS checkpoints`,
      [upload.name],
    );
    return { runs, checkpoints };
  };

  beforeAll(async () => {
    config = testApiConfig('models');
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    dataSource = app.get(DataSource);
    trainingQueue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    evaluationQueue = new Queue(EVALUATION_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
  });

  afterAll(async () => {
    for (const queue of [trainingQueue, evaluationQueue]) {
      await queue?.obliterate({ force: true });
      await queue?.close();
    }
    await app?.close();
  });

  describe('POST /models/import', () => {
    it("stores the upload as the run's epoch-0 checkpoint and enqueues an import job whose id is the run id", async () => {
      const res = await http().post('/models/import').send(upload).expect(201);
      expect(res.body).toMatchObject({ kind: 'import', status: 'queued', parentRunId: null });
      const spec = res.body.spec as ImportRunSpec;
      expect(spec).toEqual({
        kind: 'import',
        dataset: 'mnist',
        model: 'imported',
        name: 'keras digits',
        attack: { name: 'fgsm', epsilon: 0.1 },
        seed: 0,
        testFraction: 0.2,
        upload: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), sizeBytes: expect.any(Number), weightBytes: WEIGHT_BYTES },
      });

      const job = await trainingQueue.getJob(res.body.id);
      expect(job?.name).toBe('import');
      expect(job?.data).toEqual({ runId: res.body.id });

      const checkpoints = (await http().get(`/runs/${res.body.id}/checkpoints`).expect(200)).body.items;
      expect(checkpoints).toEqual([
        expect.objectContaining({ epoch: 0, format: LAYERS_UPLOAD_FORMAT, sha256: spec.upload.sha256, sizeBytes: spec.upload.sizeBytes }),
      ]);
      const stored = decodeLayersModel((await app.get(RunRepository).checkpointData(checkpoints[0].id))!.data);
      expect(stored.modelJson).toEqual(modelJson);
      expect(stored.weights.equals(weights)).toBe(true);

      const listed = (await http().get('/runs?kind=import').expect(200)).body.items.map((r: Run) => r.id);
      expect(listed).toContain(res.body.id);
    });

    it('returns the same run for the same Idempotency-Key and refuses the key with other weights', async () => {
      const key = `import-${Date.now()}`;
      const before = await counts();
      const first = await http().post('/models/import').set('Idempotency-Key', key).send(upload).expect(201);
      const second = await http().post('/models/import').set('Idempotency-Key', key).send(upload).expect(201);
      expect(second.body.id).toBe(first.body.id);
      expect(second.headers['idempotent-replayed']).toBe('true');
      const other = Buffer.from(weights);
      other[0] ^= 1;
      await http()
        .post('/models/import')
        .set('Idempotency-Key', key)
        .send({ ...upload, weights: other.toString('base64') })
        .expect(409);
      expect(await counts()).toEqual({ runs: before.runs + 1, checkpoints: before.checkpoints + 1 });
    });

    const without = (field: string) => Object.fromEntries(Object.entries(modelJson).filter(([k]) => k !== field));
    const badBodies: [string, Record<string, unknown>, RegExp][] = [
      ['an unknown dataset', { ...upload, dataset: 'imagenet' }, /^dataset must be one of/],
      ['no model.json', { ...upload, modelJson: undefined }, /^modelJson must be an object/],
      ['model.json without modelTopology', { ...upload, modelJson: without('modelTopology') }, /^modelJson\.modelTopology is required/],
      ['model.json without weightsManifest', { ...upload, modelJson: without('weightsManifest') }, /^modelJson\.weightsManifest is required/],
      ['a graph model', { ...upload, modelJson: { ...modelJson, format: 'graph-model' } }, /^modelJson\.format is "graph-model"/],
      [
        'a malformed manifest entry',
        { ...upload, modelJson: { ...modelJson, weightsManifest: [{ paths: ['a.bin'], weights: [{ name: 'w', dtype: 'float32' }] }] } },
        /^modelJson\.weightsManifest\[0\]\.weights\[0\] \(w\) needs a shape/,
      ],
      ['weights that are not base64', { ...upload, weights: 'not base64!' }, /^weights must be base64 encoded/],
      ['no weights', { ...upload, weights: undefined }, /^weights must be base64 encoded/],
      [
        'weights of another size than the manifest',
        { ...upload, weights: weights.subarray(0, 40).toString('base64') },
        new RegExp(`^weights holds 40 bytes, but modelJson\\.weightsManifest declares ${WEIGHT_BYTES}`),
      ],
      ['an unknown field', { ...upload, epochs: 3 }, /^property epochs should not exist/],
      ['a test fraction out of range', { ...upload, testFraction: 0.9 }, /^testFraction must not be greater than 0.5/],
    ];

    it.each(badBodies)('rejects %s with a 400 naming the field, storing nothing', async (_case, body, message) => {
      const before = await counts();
      const res = await http().post('/models/import').send(body).expect(400);
      expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
      expect(await counts()).toEqual(before);
    });
  });

  describe('runs from an imported model', () => {
    let importRun: Run;
    let importCheckpoint: Checkpoint;

    beforeAll(async () => {
      importRun = (await http().post('/models/import').send(upload).expect(201)).body;
      importCheckpoint = (await http().get(`/runs/${importRun.id}/checkpoints`).expect(200)).body.items[0];
    });

    /** What the worker does when the import succeeds: the accepted model replaces the upload (same checkpoint id). */
    const accept = async () => {
      await dataSource.getRepository(Checkpoint).update({ id: importCheckpoint.id }, { format: LAYERS_MODEL_FORMAT });
      await dataSource.getRepository(Run).update({ id: importRun.id }, { status: 'succeeded' });
    };

    it('refuses model "imported" without fromCheckpoint', async () => {
      const res = await http().post('/runs').send(fineTune).expect(400);
      expect(res.body.message).toEqual([expect.stringMatching(/^model "imported" needs fromCheckpoint/)]);
    });

    it('refuses to train or evaluate from an upload its import run has not accepted yet', async () => {
      const before = await counts();
      const run = await http()
        .post('/runs')
        .send({ ...fineTune, fromCheckpoint: importCheckpoint.id })
        .expect(400);
      expect(run.body.message).toEqual([
        `fromCheckpoint: checkpoint ${importCheckpoint.id} is the upload of import run ${importRun.id}, ` +
          'which is queued; it holds a model once that run has succeeded',
      ]);
      const teacher = await http()
        .post('/runs')
        .send({
          kind: 'distillation',
          dataset: 'mnist',
          model: 'mlp',
          epochs: 1,
          batchSize: 64,
          seed: 1,
          temperature: 20,
          teacherCheckpoint: importCheckpoint.id,
        })
        .expect(400);
      expect(teacher.body.message).toEqual([expect.stringMatching(/^teacherCheckpoint: checkpoint .* is the upload of import run/)]);
      const evaluation = await http()
        .post('/evaluations')
        .send({ runId: importRun.id, epsilons: [0.1] })
        .expect(400);
      expect(evaluation.body.message).toEqual([expect.stringMatching(/^runId: checkpoint .* is the upload of import run .*, which is queued/)]);
      expect(await counts()).toEqual(before);
    });

    it('fine-tunes an accepted import: lineage to the import run, the imported architecture named in the spec', async () => {
      await accept();
      const res = await http()
        .post('/runs')
        .send({ ...fineTune, fromCheckpoint: importCheckpoint.id })
        .expect(201);
      expect(res.body).toMatchObject({ kind: 'adversarial-training', parentRunId: importRun.id, parentCheckpointId: importCheckpoint.id });
      expect(res.body.spec).toMatchObject({
        model: 'imported',
        initialCheckpointId: importCheckpoint.id,
        importedModel: { runId: importRun.id, checkpointId: importCheckpoint.id },
      });
      expect((await trainingQueue.getJob(res.body.id))?.name).toBe('adversarial-training');

      // A run fine-tuned from that run keeps the import's architecture.
      await app.get(RunRepository).saveCheckpoint(res.body.id, 1, Buffer.from([1]), '1'.repeat(64), CHECKPOINT_FORMAT);
      const [grandchildStart] = (await http().get(`/runs/${res.body.id}/checkpoints`).expect(200)).body.items;
      const second = await http()
        .post('/runs')
        .send({ ...fineTune, kind: 'train', attack: undefined, fromCheckpoint: grandchildStart.id })
        .expect(201);
      expect(second.body).toMatchObject({ parentRunId: res.body.id, parentCheckpointId: grandchildStart.id });
      expect((second.body.spec as TrainingRunSpec).importedModel).toEqual({ runId: importRun.id, checkpointId: importCheckpoint.id });
    });

    it('refuses to mix an imported architecture with a zoo one, or another dataset', async () => {
      await accept();
      const zoo = await http()
        .post('/runs')
        .send({ ...fineTune, model: 'mlp', fromCheckpoint: importCheckpoint.id })
        .expect(400);
      expect(zoo.body.message).toEqual([expect.stringMatching(/holds an imported model \(model "imported"\) trained on mnist, not a mlp on mnist$/)]);
      const otherData = await http()
        .post('/runs')
        .send({ ...fineTune, dataset: 'fashion-mnist', fromCheckpoint: importCheckpoint.id })
        .expect(400);
      expect(otherData.body.message).toEqual([expect.stringMatching(/trained on mnist, not an imported model \(model "imported"\) on fashion-mnist$/)]);

      const zooRun = await dataSource
        .getRepository(Run)
        .save({ kind: 'train', status: 'succeeded', spec: { ...fineTune, kind: 'train', model: 'mlp' } as unknown as TrainingRunSpec });
      await app.get(RunRepository).saveCheckpoint(zooRun.id, 1, Buffer.from([1]), '1'.repeat(64), CHECKPOINT_FORMAT);
      const [zooCheckpoint] = (await http().get(`/runs/${zooRun.id}/checkpoints`).expect(200)).body.items;
      const imported = await http()
        .post('/runs')
        .send({ ...fineTune, fromCheckpoint: zooCheckpoint.id })
        .expect(400);
      expect(imported.body.message).toEqual([expect.stringMatching(/holds a mlp trained on mnist, not an imported model \(model "imported"\) on mnist$/)]);
    });

    it('evaluates an accepted import and distils from it', async () => {
      await accept();
      const evaluation = await http()
        .post('/evaluations')
        .send({ runId: importRun.id, epsilons: [0.1], suite: 'quick', examples: 50 })
        .expect(201);
      expect(evaluation.body).toMatchObject({ kind: 'evaluation', parentRunId: importRun.id, parentCheckpointId: importCheckpoint.id });
      expect(evaluation.body.spec).toMatchObject({
        sourceRunId: importRun.id,
        checkpointId: importCheckpoint.id,
        checkpointEpoch: 0,
        model: 'imported',
        dataset: 'mnist',
        datasetSeed: 0,
        testFraction: 0.2,
      });
      expect((await evaluationQueue.getJob(evaluation.body.id))?.name).toBe('evaluation');

      const student = await http()
        .post('/runs')
        .send({
          kind: 'distillation',
          dataset: 'mnist',
          model: 'mlp',
          epochs: 1,
          batchSize: 64,
          seed: 1,
          temperature: 20,
          teacherCheckpoint: importCheckpoint.id,
        })
        .expect(201);
      expect(student.body).toMatchObject({ parentRunId: importRun.id, spec: { teacherCheckpointId: importCheckpoint.id, model: 'mlp' } });
    });
  });
});

describe('models API: the upload limit', () => {
  let app: INestApplication;

  beforeAll(async () => {
    // Below this upload (~42 KB of JSON), above the general BODY_LIMIT_BYTES default it bypasses.
    app = await createApiApp(testApiConfig('models-limit', { MODEL_UPLOAD_LIMIT_BYTES: '20000' }), ['error', 'warn']);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers 413 naming MODEL_UPLOAD_LIMIT_BYTES for an upload over it, and the general limit elsewhere', async () => {
    const res = await request(app.getHttpServer()).post('/models/import').send(upload).expect(413);
    expect(res.body.message).toEqual(['body exceeds the limit of 20000 bytes (MODEL_UPLOAD_LIMIT_BYTES)']);
    const elsewhere = await request(app.getHttpServer())
      .post('/runs')
      .send({ ...fineTune, padding: 'x'.repeat(20_000) })
      .expect(413);
    expect(elsewhere.body.message).toEqual(['body exceeds the limit of 16384 bytes (BODY_LIMIT_BYTES)']);
  });
});
