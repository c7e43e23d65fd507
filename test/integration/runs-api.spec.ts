import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { Run, RunRepository } from '../../libs/database/src';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

/**
 * The seeds of this file's runs: other integration files write runs to the same database at
 * the same time, so "nothing was stored" is counted over this file's seed range only.
 */
const FILE_SEED = 7300;
const FILE_SEEDS = 100;

const valid = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: FILE_SEED,
};

describe('runs API (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let queue: Queue;
  let dataSource: DataSource;
  let http: HttpClient;
  const runCount = async (): Promise<number> => {
    const [{ count }] = await dataSource.query(
      `SELECT count(*)::int AS count FROM runs WHERE (spec->>'seed')::numeric >= $1 AND (spec->>'seed')::numeric < $2`,
      [FILE_SEED, FILE_SEED + FILE_SEEDS],
    );
    return count;
  };

  beforeAll(async () => {
    config = testApiConfig('api', { BODY_LIMIT_BYTES: '2048' });
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    dataSource = app.get(DataSource);
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    await app?.close();
  });

  describe('POST /runs', () => {
    it('stores a queued run and enqueues one job whose id is the run id', async () => {
      const res = await http().post('/runs').send(valid).expect(201);
      expect(res.body).toMatchObject({
        kind: 'adversarial-training',
        status: 'queued',
        progress: 0,
        spec: { ...valid, learningRate: 0.001, testFraction: 0.2 },
      });
      expect(res.body.requestHash).toBeUndefined();

      const row = await dataSource.getRepository(Run).findOneByOrFail({ id: res.body.id });
      expect(row.status).toBe('queued');
      const job = await queue.getJob(res.body.id);
      expect(job?.name).toBe('adversarial-training');
      expect(job?.data).toEqual({ runId: res.body.id });
      expect(job?.opts.attempts).toBe(config.jobAttempts);
    });

    it('gives a train run the default evaluation attack', async () => {
      const { attack, ...rest } = valid;
      const res = await http()
        .post('/runs')
        .send({ ...rest, kind: 'train' })
        .expect(201);
      expect(res.body.spec.attack).toEqual({ name: 'fgsm', epsilon: 0.1 });
      expect((await queue.getJob(res.body.id))?.name).toBe('train');
      expect(attack).toBeDefined();
    });

    it('returns the same run for the same Idempotency-Key and refuses the key with another body', async () => {
      const key = `key-${Date.now()}`;
      const before = await runCount();
      const first = await http().post('/runs').set('Idempotency-Key', key).send(valid).expect(201);
      const second = await http().post('/runs').set('Idempotency-Key', key).send(valid).expect(201);
      expect(second.body.id).toBe(first.body.id);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(await runCount()).toBe(before + 1);

      const conflict = await http()
        .post('/runs')
        .set('Idempotency-Key', key)
        .send({ ...valid, seed: FILE_SEED + 1 })
        .expect(409);
      expect(conflict.body.message).toMatch(/Idempotency-Key/);
      expect(await runCount()).toBe(before + 1);
    });

    it('makes one run when the same key arrives concurrently', async () => {
      const key = `race-${Date.now()}`;
      const responses = await Promise.all([1, 2, 3].map(() => http().post('/runs').set('Idempotency-Key', key).send(valid)));
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      expect(await dataSource.getRepository(Run).countBy({ idempotencyKey: key })).toBe(1);
    });

    const badBodies: [string, Record<string, unknown>, RegExp][] = [
      ['unknown kind', { ...valid, kind: 'pretrain' }, /^kind must be one of/],
      ['missing kind', { ...valid, kind: undefined }, /^kind must be one of/],
      ['unknown dataset', { ...valid, dataset: 'imagenet' }, /^dataset must be one of/],
      ['unknown model', { ...valid, model: 'resnet152' }, /^model must be one of/],
      ['unknown attack', { ...valid, attack: { name: 'deepfool9', epsilon: 0.1 } }, /^attack\.name must be one of/],
      ['epsilon 0', { ...valid, attack: { name: 'fgsm', epsilon: 0 } }, /^attack\.epsilon must be a positive number/],
      ['negative epsilon', { ...valid, attack: { name: 'fgsm', epsilon: -0.1 } }, /^attack\.epsilon must be a positive number/],
      ['epsilon above 1', { ...valid, attack: { name: 'fgsm', epsilon: 1.5 } }, /^attack\.epsilon must not be greater than 1/],
      ['epsilon as a string', { ...valid, attack: { name: 'fgsm', epsilon: '0.1' } }, /^attack\.epsilon must be a number/],
      ['missing attack for adversarial training', { ...valid, attack: undefined }, /^attack is required for adversarial-training/],
      ['attack that is not an object', { ...valid, attack: 'fgsm' }, /property attack must be either object/],
      ['epochs 0', { ...valid, epochs: 0 }, /^epochs must not be less than 1/],
      ['epochs above MAX_EPOCHS', { ...valid, epochs: 21 }, /^epochs must not be greater than 20 \(MAX_EPOCHS\)/],
      ['fractional epochs', { ...valid, epochs: 1.5 }, /^epochs must be an integer/],
      ['batch size 0', { ...valid, batchSize: 0 }, /^batchSize must not be less than 1/],
      ['batch size above MAX_BATCH_SIZE', { ...valid, batchSize: 513 }, /^batchSize must not be greater than 512 \(MAX_BATCH_SIZE\)/],
      ['fractional seed', { ...valid, seed: FILE_SEED + 0.5 }, /^seed must be an integer/],
      ['seed as a string', { ...valid, seed: String(FILE_SEED) }, /^seed must be an integer/],
      ['learning rate above 1', { ...valid, learningRate: 3 }, /^learningRate must not be greater than 1/],
      ['unknown top-level field', { ...valid, gpu: true }, /^property gpu should not exist/],
      ['a training method on a plain training run', { ...valid, kind: 'train', method: { name: 'pgd' } }, /^method applies to adversarial-training runs only/],
      ['an unknown training method', { ...valid, method: { name: 'mart' } }, /^method\.name must be one of/],
      ['a zero PGD-training step count', { ...valid, method: { name: 'pgd', steps: 0 } }, /^method\.steps must not be less than 1/],
      [
        'a guard maxGap above 1',
        { ...valid, method: { name: 'fgsm-rs' }, overfittingGuard: { maxGap: 1.5 } },
        /^overfittingGuard\.maxGap must not be greater than 1/,
      ],
      [
        'a guard maxGap of 0',
        { ...valid, method: { name: 'fgsm-rs' }, overfittingGuard: { maxGap: 0 } },
        /^overfittingGuard\.maxGap must be a positive number/,
      ],
      [
        'momentum with Adam',
        { ...valid, optimizer: { name: 'adam', momentum: 0.9 } },
        /^optimizer\.momentum and optimizer\.nesterov apply to the sgd optimizer only/,
      ],
      ['an unknown optimizer', { ...valid, optimizer: { name: 'lion' } }, /^optimizer\.name must be one of/],
      ['a piecewise schedule without milestones', { ...valid, schedule: { kind: 'piecewise', factor: 0.1 } }, /^schedule\.milestones must be an array/],
      [
        'a milestone at or past the last epoch',
        { ...valid, schedule: { kind: 'piecewise', milestones: [2], factor: 0.1 } },
        /^schedule\.milestones must be below epochs \(2\)/,
      ],
      [
        'a cyclic floor above the peak',
        { ...valid, schedule: { kind: 'cyclic', minLearningRate: 0.5 } },
        /^schedule\.minLearningRate must be below learningRate/,
      ],
      [
        'an overfitting guard on plain training',
        { ...valid, kind: 'train', overfittingGuard: {} },
        /^overfittingGuard applies to adversarial-training runs only/,
      ],
      ['a malformed fromCheckpoint', { ...valid, fromCheckpoint: 'latest' }, /^fromCheckpoint must be a UUID/],
      ['zero data-parallel shards', { ...valid, dataParallel: { shards: 0 } }, /^dataParallel\.shards must not be less than 1/],
      ['more data-parallel shards than the maximum', { ...valid, dataParallel: { shards: 65 } }, /^dataParallel\.shards must not be greater than 64/],
      ['an unknown data-parallel field', { ...valid, dataParallel: { shards: 2, staleness: 1 } }, /^dataParallel\.property staleness should not exist/],
      [
        'data-parallel free training',
        { ...valid, method: { name: 'free' }, dataParallel: { shards: 2 } },
        /^dataParallel cannot split free adversarial training/,
      ],
      ['distillation without a teacher', { ...valid, kind: 'distillation', attack: undefined, temperature: 20 }, /^teacherCheckpoint must be a UUID/],
      [
        'distillation without a temperature',
        { ...valid, kind: 'distillation', attack: undefined, teacherCheckpoint: '00000000-0000-4000-8000-000000000000' },
        /^temperature is required for distillation/,
      ],
      ['a temperature below 1', { ...valid, kind: 'train', temperature: 0.5 }, /^temperature must not be less than 1/],
      [
        'a temperature on adversarial training',
        { ...valid, temperature: 20 },
        /^temperature applies to train \(a distillation teacher\) and distillation runs only/,
      ],
      [
        'an unknown teacher',
        { ...valid, kind: 'distillation', attack: undefined, temperature: 20, teacherCheckpoint: '00000000-0000-4000-8000-000000000000' },
        /^teacherCheckpoint: checkpoint .* does not exist/,
      ],
      ['an unknown fromCheckpoint', { ...valid, fromCheckpoint: '00000000-0000-4000-8000-000000000000' }, /^fromCheckpoint: checkpoint .* does not exist/],
      ['unknown nested field', { ...valid, attack: { name: 'fgsm', epsilon: 0.1, steps: 10 } }, /^attack\.property steps should not exist/],
    ];

    it.each(badBodies)('rejects %s with a 400 naming the field and stores nothing', async (_case, body, message) => {
      const before = await runCount();
      const res = await http().post('/runs').send(body).expect(400);
      expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
      expect(await runCount()).toBe(before);
    });

    it('stores the resolved training method, optimizer and schedule, with the guard on by default for fgsm-rs', async () => {
      const res = await http()
        .post('/runs')
        .send({ ...valid, method: { name: 'fgsm-rs' }, schedule: { kind: 'cyclic' }, optimizer: { name: 'sgd' } })
        .expect(201);
      expect(res.body.spec).toMatchObject({
        method: { name: 'fgsm-rs', epsilon: 0.1 },
        optimizer: { name: 'sgd', momentum: 0.9, nesterov: false },
        schedule: { kind: 'cyclic', minLearningRate: 0, peakAt: 0.5 },
        overfittingGuard: { heldOut: 500, maxDrop: 0.2, onCollapse: 'stop' },
      });
      // The FGSM-PGD gap is opt-in: absent unless asked for, stored as given when it is.
      expect(res.body.spec.overfittingGuard.maxGap).toBeUndefined();
      const gapped = await http()
        .post('/runs')
        .send({ ...valid, method: { name: 'fgsm-rs' }, overfittingGuard: { maxGap: 0.4 } })
        .expect(201);
      expect(gapped.body.spec.overfittingGuard).toEqual({ heldOut: 500, maxDrop: 0.2, maxGap: 0.4, onCollapse: 'stop' });
      const plain = await http().post('/runs').send(valid).expect(201);
      expect(plain.body.spec).toMatchObject({ method: { name: 'fgsm', epsilon: 0.1 }, optimizer: { name: 'adam' }, schedule: { kind: 'constant' } });
      expect(plain.body.spec.overfittingGuard).toBeUndefined();
    });

    it('starts a run from a checkpoint of the same model and data only', async () => {
      const source = (await http().post('/runs').send(valid).expect(201)).body;
      await app.get(RunRepository).saveCheckpoint(source.id, 1, Buffer.from([1]), 'f'.repeat(64), 'test');
      const checkpointId = (await http().get(`/runs/${source.id}/checkpoints`).expect(200)).body.items[0].id;
      const fine = await http()
        .post('/runs')
        .send({ ...valid, fromCheckpoint: checkpointId })
        .expect(201);
      expect(fine.body).toMatchObject({ parentRunId: source.id, parentCheckpointId: checkpointId, spec: { initialCheckpointId: checkpointId } });
      const other = await http()
        .post('/runs')
        .send({ ...valid, model: 'cnn-small', fromCheckpoint: checkpointId })
        .expect(400);
      expect(other.body.message[0]).toMatch(/^fromCheckpoint: checkpoint .* holds a mlp trained on mnist, not a cnn-small on mnist/);
      const distilled = await http()
        .post('/runs')
        .send({ ...valid, kind: 'distillation', attack: undefined, model: 'cnn-small', temperature: 20, teacherCheckpoint: checkpointId })
        .expect(201);
      expect(distilled.body).toMatchObject({
        kind: 'distillation',
        parentRunId: source.id,
        parentCheckpointId: checkpointId,
        spec: { temperature: 20, teacherCheckpointId: checkpointId },
      });
      expect((await queue.getJob(distilled.body.id))?.name).toBe('distillation');
    });

    it('rejects a body over the size limit with 413 and a message naming the limit', async () => {
      const before = await runCount();
      const res = await http()
        .post('/runs')
        .send({ ...valid, padding: 'x'.repeat(4096) })
        .expect(413);
      expect(res.body.message).toEqual([expect.stringMatching(/body exceeds the limit of 2048 bytes \(BODY_LIMIT_BYTES\)/)]);
      expect(await runCount()).toBe(before);
    });

    it('rejects malformed JSON with a 400', async () => {
      const res = await http().post('/runs').set('Content-Type', 'application/json').send('{"kind": ').expect(400);
      expect(String(res.body.message)).toMatch(/JSON/);
    });

    it('rejects a malformed Idempotency-Key', async () => {
      const res = await http().post('/runs').set('Idempotency-Key', 'a'.repeat(300)).send(valid).expect(400);
      expect(res.body.message[0]).toMatch(/Idempotency-Key/);
    });
  });

  describe('queries', () => {
    it('lists runs newest first with pagination and filters', async () => {
      const created: string[] = [];
      for (let i = 0; i < 3; i++)
        created.push(
          (
            await http()
              .post('/runs')
              .send({ ...valid, kind: 'train', seed: FILE_SEED + 10 + i })
              .expect(201)
          ).body.id,
        );
      const page = await http().get('/runs').query({ kind: 'train', status: 'queued', limit: 2 }).expect(200);
      expect(page.body.items).toHaveLength(2);
      expect(page.body.total).toBeGreaterThanOrEqual(3);
      expect(page.body.items.every((r: Run) => r.kind === 'train' && r.status === 'queued')).toBe(true);
      expect(page.body.items[0].id).toBe(created[2]);
      expect(page.body.items[1].id).toBe(created[1]);
      const next = await http().get('/runs').query({ kind: 'train', status: 'queued', limit: 2, offset: 2 }).expect(200);
      expect(next.body.items[0].id).toBe(created[0]);
    });

    it('finds the run an Idempotency-Key created, and nothing for a key never used', async () => {
      const key = `lookup-${Date.now()}`;
      const { body: run } = await http()
        .post('/runs')
        .set('Idempotency-Key', key)
        .send({ ...valid, seed: FILE_SEED + 20 })
        .expect(201);
      const found = await http().get('/runs').query({ idempotencyKey: key }).expect(200);
      expect(found.body).toMatchObject({ total: 1, items: [expect.objectContaining({ id: run.id, idempotencyKey: key })] });
      const none = await http()
        .get('/runs')
        .query({ idempotencyKey: `${key}-unused` })
        .expect(200);
      expect(none.body).toMatchObject({ total: 0, items: [] });
    });

    it.each([
      [{ status: 'exploded' }, /^status must be one of/],
      [{ kind: 'x' }, /^kind must be one of/],
      [{ limit: 0 }, /^limit must not be less than 1/],
      [{ limit: 'many' }, /^limit must be an integer/],
      [{ offset: -1 }, /^offset must not be less than 0/],
      [{ idempotencyKey: 'a'.repeat(256) }, /^idempotencyKey must be 1-255 printable ASCII characters/],
    ])('rejects the query %p naming the parameter', async (query, message) => {
      const res = await http().get('/runs').query(query).expect(400);
      expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });

    it('answers 404 for unknown and malformed ids on every run route', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const path of [`/runs/${unknown}`, `/runs/${unknown}/metrics`, `/runs/${unknown}/checkpoints`, '/runs/not-a-uuid']) {
        const res = await http().get(path).expect(404);
        expect(res.body.message).toMatch(/not found|no resource/);
      }
      await http().post(`/runs/${unknown}/cancel`).expect(404);
    });

    it('returns empty metric and checkpoint lists for a new run', async () => {
      const { body: run } = await http().post('/runs').send(valid).expect(201);
      expect((await http().get(`/runs/${run.id}/metrics`).query({ key: 'train_loss' }).expect(200)).body).toEqual({ runId: run.id, items: [] });
      expect((await http().get(`/runs/${run.id}/checkpoints`).expect(200)).body).toEqual({ runId: run.id, items: [] });
      await http().get(`/runs/${run.id}/metrics`).query({ key: 'DROP TABLE' }).expect(400);
    });
  });

  describe('POST /runs/:id/cancel', () => {
    it('cancels a queued run: its job leaves the queue and a second cancel conflicts', async () => {
      const { body: run } = await http().post('/runs').send(valid).expect(201);
      expect(await queue.getJob(run.id)).toBeDefined();
      const res = await http().post(`/runs/${run.id}/cancel`).expect(202);
      expect(res.body.status).toBe('cancelled');
      expect(res.body.cancelRequestedAt).not.toBeNull();
      expect(res.body.finishedAt).not.toBeNull();
      expect(await queue.getJob(run.id)).toBeUndefined();
      const again = await http().post(`/runs/${run.id}/cancel`).expect(409);
      expect(again.body.message).toMatch(/already ended \(cancelled\)/);
    });
  });

  it('serves the OpenAPI document at /docs', async () => {
    const ui = await http().get('/docs').expect(200);
    expect(ui.text).toMatch(/swagger/i);
    const doc = await http().get('/docs/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/runs', '/runs/{id}', '/runs/{id}/metrics', '/runs/{id}/checkpoints', '/runs/{id}/cancel']),
    );
    expect(doc.body.components.schemas.CreateRunDto.required).toEqual(expect.arrayContaining(['kind', 'dataset', 'model', 'epochs', 'batchSize', 'seed']));
  });

  it('reports health of Postgres and Redis', async () => {
    expect((await http().get('/health').expect(200)).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  });
});
