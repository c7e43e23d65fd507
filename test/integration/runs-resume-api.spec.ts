import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { Checkpoint, Metric, Run } from '../../libs/database/src';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { MAX_RESUME_METRICS } from '../../libs/spec/src';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

/** Seeds of this file's runs: other files write runs to the same database at the same time. */
const FILE_SEED = 7400;

const run = { kind: 'adversarial-training', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 3, batchSize: 64, seed: FILE_SEED };
const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
const checkpoint = { epoch: 2, data: bytes.toString('base64'), sha256: createHash('sha256').update(bytes).digest('hex'), format: 'bulwark-ckpt-v1' };
const metrics = [
  { key: 'train_loss', step: 1, value: 0.9 },
  { key: 'train_loss', step: 2, value: 0.5 },
  { key: 'test_clean_accuracy', step: 2, value: 0.8 },
];

describe('POST /runs/resume (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let queue: Queue;
  let dataSource: DataSource;
  let http: HttpClient;
  const runCount = async (): Promise<number> => {
    const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM runs WHERE (spec->>'seed')::numeric BETWEEN $1 AND $2`, [
      FILE_SEED,
      FILE_SEED + 99,
    ]);
    return count;
  };

  beforeAll(async () => {
    config = testApiConfig('api-resume', { BODY_LIMIT_BYTES: '2048' });
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

  it('stores the run queued with its checkpoint and the metrics up to it, and enqueues its job (a body far over BODY_LIMIT_BYTES)', async () => {
    const key = `resume-${Date.now()}`;
    const res = await http().post('/runs/resume').set('Idempotency-Key', key).send({ run, checkpoint, metrics }).expect(201);
    expect(res.body).toMatchObject({ kind: 'adversarial-training', status: 'queued', spec: { ...run, learningRate: 0.001 } });

    const stored: Array<Pick<Checkpoint, 'epoch' | 'sha256' | 'format' | 'data'>> = await dataSource.query(
      'SELECT epoch, sha256, format, data FROM checkpoints WHERE run_id = $1',
      [res.body.id],
    );
    expect(stored.map((c) => [c.epoch, c.sha256, c.format, Buffer.compare(c.data, bytes)])).toEqual([[2, checkpoint.sha256, 'bulwark-ckpt-v1', 0]]);
    const points = await dataSource.getRepository(Metric).find({ where: { runId: res.body.id }, order: { key: 'ASC', step: 'ASC' } });
    expect(points.map((p) => [p.key, p.step, p.value])).toEqual([
      ['test_clean_accuracy', 2, 0.8],
      ['train_loss', 1, 0.9],
      ['train_loss', 2, 0.5],
    ]);
    const job = await queue.getJob(res.body.id);
    expect(job?.name).toBe('adversarial-training');

    const again = await http().post('/runs/resume').set('Idempotency-Key', key).send({ run, checkpoint, metrics }).expect(201);
    expect(again.body.id).toBe(res.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // The key also names the run for POST /runs with the same spec: it is the same run.
    const plain = await http().post('/runs').set('Idempotency-Key', key).send(run).expect(201);
    expect(plain.body.id).toBe(res.body.id);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a damaged checkpoint',
      { run, checkpoint: { ...checkpoint, sha256: '0'.repeat(64) } },
      /^checkpoint\.sha256 does not match the data \(whose SHA-256 is [0-9a-f]{64}\)/,
    ],
    ['a checkpoint of the last epoch', { run, checkpoint: { ...checkpoint, epoch: 3 } }, /^checkpoint\.epoch: 3 leaves nothing to resume of a run of 3 epochs/],
    [
      'a run built on another checkpoint',
      { run: { ...run, fromCheckpoint: '00000000-0000-4000-8000-000000000000' }, checkpoint },
      /^run\.fromCheckpoint: a run built on another checkpoint cannot be resumed here/,
    ],
    ['an invalid run', { run: { ...run, epochs: 0 }, checkpoint }, /^run\.epochs must not be less than 1/],
    ['no checkpoint', { run }, /^checkpoint should not be (null or )?undefined/],
    ['a foreign format', { run, checkpoint: { ...checkpoint, format: 'pytorch' } }, /^checkpoint\.format must be a bulwark checkpoint format/],
    // Once a 500: the name did not fit the column.
    [
      'a format too long to store',
      { run, checkpoint: { ...checkpoint, format: `bulwark-ckpt-v${'1'.repeat(30)}` } },
      /^checkpoint\.format must be a bulwark checkpoint format/,
    ],
    ['a metric that is not a number', { run, checkpoint, metrics: [{ key: 'train_loss', step: 1, value: 'x' }] }, /^metrics\.0\.value must be a number/],
    // Epoch 3 runs again and writes its own points: one sent for it is refused, not dropped unseen.
    [
      'a metric after the checkpoint',
      { run, checkpoint, metrics: [...metrics, { key: 'train_loss', step: 3, value: 0.4 }] },
      /^metrics\.3\.step 3 is after checkpoint\.epoch 2/,
    ],
    ['a metric key outside the allow-list', { run, checkpoint, metrics: [{ key: '../x', step: 1, value: 1 }] }, /^metrics\.0\.key must be 1-64 characters/],
    [
      'a step out of range',
      { run, checkpoint, metrics: [{ key: 'train_loss', step: 2 ** 31, value: 1 }] },
      /^metrics\.0\.step must not be greater than 2147483647/,
    ],
    [
      'more metric points than MAX_RESUME_METRICS',
      { run, checkpoint, metrics: Array.from({ length: MAX_RESUME_METRICS + 1 }, (_, i) => ({ key: `k${i % 1000}`, step: i % 3, value: 0 })) },
      new RegExp(`^metrics must contain no more than ${MAX_RESUME_METRICS} elements`),
    ],
  ];

  it.each(bad)('refuses %s with a 400 naming the field and stores nothing', async (_case, body, message) => {
    const before = await runCount();
    const res = await http().post('/runs/resume').send(body).expect(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    expect(await runCount()).toBe(before);
  });

  it('keeps other routes at BODY_LIMIT_BYTES', async () => {
    const res = await http()
      .post('/runs')
      .send({ ...run, padding: 'x'.repeat(4096) })
      .expect(413);
    expect(res.body.message).toEqual([expect.stringMatching(/BODY_LIMIT_BYTES/)]);
  });

  it('lists the resumed run like any other', async () => {
    const res = await http()
      .post('/runs/resume')
      .send({ run: { ...run, seed: FILE_SEED + 1 }, checkpoint })
      .expect(201);
    const listed = await http().get(`/runs/${res.body.id}/checkpoints`).expect(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ epoch: 2, sizeBytes: bytes.length })]);
    expect((await dataSource.getRepository(Run).findOneByOrFail({ id: res.body.id })).status).toBe('queued');
  });
});
