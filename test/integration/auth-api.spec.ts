import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import Redis from 'ioredis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { ApiKeyRepository, Run, RunRepository } from '../../libs/database/src';
import { EVALUATION_QUEUE, TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { TrainingRunSpec } from '../../libs/spec/src';
import { createTestKey } from '../support/api-keys';
import { freePort } from '../support/processes';
import { testApiConfig } from '../support/test-config';

/** This file's runs carry seeds in this range, so counts ignore what other files write to the same database. */
const FILE_SEED = 9100;

const submission = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: FILE_SEED };
const trainingSpec: TrainingRunSpec = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: FILE_SEED + 1,
  learningRate: 0.001,
  testFraction: 0.2,
};

/** A tenant name no other test run uses (they share the database's tenants table for a run). */
const tenantName = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}`;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

async function startApp(config: ApiConfig): Promise<INestApplication> {
  const app = await createApiApp(config, ['error']);
  await app.init();
  return app;
}

async function closeQueues(config: ApiConfig): Promise<void> {
  for (const name of [TRAINING_QUEUE, EVALUATION_QUEUE]) {
    const queue = new Queue(name, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

describe('API keys, tenants and roles (real Postgres and Redis)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let dataSource: DataSource;
  let keys: ApiKeyRepository;
  const http = () => request(app.getHttpServer() as Server);

  beforeAll(async () => {
    config = testApiConfig('auth');
    app = await startApp(config);
    dataSource = app.get(DataSource);
    keys = app.get(ApiKeyRepository);
  });

  afterAll(async () => {
    if (config) await closeQueues(config);
    await app?.close();
  });

  describe('problem 5: anyone could do anything', () => {
    it('answers 401 without a key, saying how to get one, and creates, lists or cancels nothing', async () => {
      const key = await createTestKey(dataSource, { tenant: tenantName('owner') });
      const { body: run } = await http().post('/runs').set(bearer(key)).send(submission).expect(201);
      const before = await dataSource.getRepository(Run).count();

      const list = await http().get('/runs').expect(401);
      expect(list.headers['www-authenticate']).toBe('Bearer');
      expect(list.body.message).toMatch(/Authorization: Bearer <key>.*npm run -s keys -- create --tenant NAME/);
      await http().post('/runs').send(submission).expect(401);
      await http().post(`/runs/${run.id}/cancel`).expect(401);
      await http().get(`/runs/${run.id}`).expect(401);
      await http().get(`/runs/${run.id}/metrics`).expect(401);
      await http().post('/evaluations').send({ runId: run.id }).expect(401);
      await http().post('/models/import').send({}).expect(401);
      await http().get('/evaluations').expect(401);
      await http().get('/admin/keys').expect(401);
      await http().get('/runs').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
      await http()
        .get('/runs')
        .set(bearer(`bwk_${'x'.repeat(43)}`))
        .expect(401);

      expect(await dataSource.getRepository(Run).count()).toBe(before);
      expect((await dataSource.getRepository(Run).findOneByOrFail({ id: run.id })).status).toBe('queued');
    });

    it('keeps /health open: it holds no data', async () => {
      const res = await http().get('/health').expect(200);
      expect(res.body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
    });

    it('refuses a revoked key at once', async () => {
      const key = await createTestKey(dataSource, { tenant: tenantName('revoked') });
      await http().get('/runs').set(bearer(key)).expect(200);
      const [record] = await keys.list({ tenantId: (await keys.authenticate(key))!.tenantId });
      await keys.revoke(record.id);
      const res = await http().get('/runs').set(bearer(key)).expect(401);
      expect(res.body.message).toMatch(/unknown or revoked API key/);
    });

    it('lets no cross-origin page act: no CORS grant, and a text/plain POST (no preflight) is refused before it runs', async () => {
      const key = await createTestKey(dataSource, { tenant: tenantName('csrf') });
      const { body: run } = await http().post('/runs').set(bearer(key)).send(submission).expect(201);

      const preflight = await http()
        .options(`/runs/${run.id}/cancel`)
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      // What a page can send without a preflight is a "simple" POST: it cannot carry the key (401 above), and its type is refused first...
      await http().post(`/runs/${run.id}/cancel`).set('Origin', 'https://evil.example').set('Content-Type', 'text/plain').send('{}').expect(415);
      // ...even where it could carry the key.
      const refused = await http()
        .post(`/runs/${run.id}/cancel`)
        .set(bearer(key))
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify(submission))
        .expect(415);
      expect(refused.body.message).toEqual(['Content-Type must be application/json (got "text/plain")']);
      await http().post('/runs').set(bearer(key)).set('Content-Type', 'application/x-www-form-urlencoded').send('kind=train').expect(415);
      expect((await dataSource.getRepository(Run).findOneByOrFail({ id: run.id })).status).toBe('queued');
    });

    it('sends no X-Powered-By', async () => {
      expect((await http().get('/health').expect(200)).headers['x-powered-by']).toBeUndefined();
      expect((await http().get('/runs').expect(401)).headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('tenants', () => {
    let alice: string;
    let bob: string;
    let aliceTenant: string;
    let aliceRun: Run;
    let aliceCheckpointId: string;
    let aliceEvaluationId: string;

    beforeAll(async () => {
      alice = await createTestKey(dataSource, { tenant: tenantName('alice') });
      bob = await createTestKey(dataSource, { tenant: tenantName('bob') });
      aliceTenant = (await keys.authenticate(alice))!.tenantId;
      aliceRun = await dataSource.getRepository(Run).save({ tenantId: aliceTenant, kind: 'adversarial-training', status: 'succeeded', spec: trainingSpec });
      const runs = app.get(RunRepository);
      await runs.saveCheckpoint(aliceRun.id, 1, Buffer.from([1]), '1'.repeat(64), 'test');
      await runs.upsertMetrics(aliceRun.id, [{ key: 'train_loss', step: 1, value: 0.5 }]);
      aliceCheckpointId = (await runs.checkpointOf(aliceRun.id))!.id;
      const evaluation = await http()
        .post('/evaluations')
        .set(bearer(alice))
        .send({ runId: aliceRun.id, epsilons: [0, 0.1] })
        .expect(201);
      aliceEvaluationId = evaluation.body.id;
    });

    it('answers 404 for every id of another tenant, as for one that never existed, and changes nothing', async () => {
      const id = aliceRun.id;
      const paths = [
        `/runs/${id}`,
        `/runs/${id}/metrics`,
        `/runs/${id}/checkpoints`,
        `/runs/${id}/checkpoints/${aliceCheckpointId}`,
        `/runs/${id}/lineage`,
        `/evaluations/${aliceEvaluationId}`,
      ];
      for (const path of paths) {
        await http().get(path).set(bearer(alice)).expect(200);
        const res = await http().get(path).set(bearer(bob)).expect(404);
        expect([path, res.body.message]).toEqual([path, expect.stringMatching(/ not found$/)]);
      }
      await http().post(`/runs/${aliceEvaluationId}/cancel`).set(bearer(bob)).expect(404);
      await http()
        .post(`/evaluations/${aliceEvaluationId}/predict`)
        .set(bearer(bob))
        .send({ inputs: [[0]] })
        .expect(404);
      expect((await dataSource.getRepository(Run).findOneByOrFail({ id: aliceEvaluationId })).status).toBe('queued');
    });

    it('lists only your own runs and evaluations', async () => {
      const { body: bobRun } = await http().post('/runs').set(bearer(bob)).send(submission).expect(201);
      const aliceList = (await http().get('/runs').query({ limit: 100 }).set(bearer(alice)).expect(200)).body;
      const bobList = (await http().get('/runs').query({ limit: 100 }).set(bearer(bob)).expect(200)).body;
      expect(aliceList.items.map((r: Run) => r.id).sort()).toEqual([aliceRun.id, aliceEvaluationId].sort());
      expect(aliceList.total).toBe(2);
      expect(bobList.items.map((r: Run) => r.id)).toEqual([bobRun.id]);
      expect((await http().get('/evaluations').set(bearer(alice)).expect(200)).body.items.map((e: { run: Run }) => e.run.id)).toEqual([aliceEvaluationId]);
      expect((await http().get('/evaluations').set(bearer(bob)).expect(200)).body.items).toEqual([]);
      expect((await http().get('/evaluations').query({ runId: aliceRun.id }).set(bearer(bob)).expect(200)).body.items).toEqual([]);
    });

    it("refuses another tenant's run or checkpoint as an evaluation source, fine-tuning start or distillation teacher", async () => {
      const before = await dataSource.getRepository(Run).countBy({ parentRunId: aliceRun.id });
      const evaluation = await http()
        .post('/evaluations')
        .set(bearer(bob))
        .send({ runId: aliceRun.id, epsilons: [0, 0.1] })
        .expect(400);
      expect(evaluation.body.message).toEqual([`runId: run ${aliceRun.id} does not exist`]);
      const fineTune = await http()
        .post('/runs')
        .set(bearer(bob))
        .send({ ...submission, kind: 'adversarial-training', attack: { name: 'fgsm', epsilon: 0.1 }, fromCheckpoint: aliceCheckpointId })
        .expect(400);
      expect(fineTune.body.message).toEqual([`fromCheckpoint: checkpoint ${aliceCheckpointId} does not exist`]);
      const distil = await http()
        .post('/runs')
        .set(bearer(bob))
        .send({ ...submission, kind: 'distillation', teacherCheckpoint: aliceCheckpointId, temperature: 20 })
        .expect(400);
      expect(distil.body.message).toEqual([`teacherCheckpoint: checkpoint ${aliceCheckpointId} does not exist`]);
      // The owner may build on it.
      await http()
        .post('/runs')
        .set(bearer(alice))
        .send({ ...submission, kind: 'adversarial-training', attack: { name: 'fgsm', epsilon: 0.1 }, fromCheckpoint: aliceCheckpointId })
        .expect(201);
      expect(await dataSource.getRepository(Run).countBy({ parentRunId: aliceRun.id })).toBe(before + 1);
    });

    it('keeps Idempotency-Keys per tenant: the same key makes one run in each, and each replays its own', async () => {
      const key = `shared-${randomBytes(4).toString('hex')}`;
      const a = await http().post('/runs').set(bearer(alice)).set('Idempotency-Key', key).send(submission).expect(201);
      const b = await http().post('/runs').set(bearer(bob)).set('Idempotency-Key', key).send(submission).expect(201);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
      expect(b.body.id).not.toBe(a.body.id);
      const again = await http().post('/runs').set(bearer(bob)).set('Idempotency-Key', key).send(submission).expect(201);
      expect([again.body.id, again.headers['idempotent-replayed']]).toEqual([b.body.id, 'true']);
      expect((await http().get('/runs').query({ idempotencyKey: key }).set(bearer(alice)).expect(200)).body.items.map((r: Run) => r.id)).toEqual([a.body.id]);
    });
  });

  describe('roles', () => {
    it("lets an admin create, list and revoke its tenant's keys, shown once and stored hashed; a member may not", async () => {
      const tenant = tenantName('roles');
      const admin = await createTestKey(dataSource, { tenant, role: 'admin' });
      const member = await createTestKey(dataSource, { tenant, role: 'member' });
      const forbidden = await http().post('/admin/keys').set(bearer(member)).send({ role: 'admin' }).expect(403);
      expect(forbidden.body.message).toBe('this needs a key of role admin; yours is member');
      await http().get('/admin/keys').set(bearer(member)).expect(403);

      const created = await http().post('/admin/keys').set(bearer(admin)).send({ role: 'member' }).expect(201);
      expect(created.body).toMatchObject({ tenant, role: 'member', revokedAt: null });
      expect(created.body.key).toMatch(/^bwk_[A-Za-z0-9_-]{43}$/);
      expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
      await http().get('/runs').set(bearer(created.body.key)).expect(200);

      const listed = (await http().get('/admin/keys').set(bearer(admin)).expect(200)).body.items;
      expect(listed).toHaveLength(3);
      expect(listed.every((k: Record<string, unknown>) => k.tenant === tenant && !('key' in k) && !('keyHash' in k))).toBe(true);
      const stored: { key_hash: string }[] = await dataSource.query('SELECT key_hash FROM api_keys WHERE id = $1', [created.body.id]);
      expect(stored[0].key_hash).not.toContain(created.body.key.slice(4));

      await http().delete(`/admin/keys/${created.body.id}`).set(bearer(admin)).expect(200);
      await http().get('/runs').set(bearer(created.body.key)).expect(401);
      // Another tenant's admin cannot see or revoke this tenant's keys.
      const stranger = await createTestKey(dataSource, { tenant: tenantName('stranger'), role: 'admin' });
      const memberId = listed.find((k: { role: string; id: string }) => k.role === 'member' && k.id !== created.body.id).id;
      await http().delete(`/admin/keys/${memberId}`).set(bearer(stranger)).expect(404);
      await http().get('/runs').set(bearer(member)).expect(200);
      await http().post('/admin/keys').set(bearer(admin)).send({ role: 'owner' }).expect(400);
      await http().post('/admin/keys').set(bearer(admin)).send({ role: 'admin', tenant: 'other' }).expect(400);
    });
  });
});

describe('per-key rate limits across two API instances sharing Redis', () => {
  let config: ApiConfig;
  let first: INestApplication;
  let second: INestApplication;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    // One config for both: the same Redis and prefix, as two replicas behind a load balancer have.
    config = testApiConfig('rate', { RATE_LIMIT_SUBMITS: '3', RATE_LIMIT_HEAVY_READS: '2', RATE_LIMIT_WINDOW_MS: '30000' });
    first = await startApp(config);
    second = await startApp(config);
    key = await createTestKey(first.get(DataSource), { tenant: tenantName('rate') });
    otherKey = await createTestKey(first.get(DataSource), { tenant: tenantName('rate-other') });
  });

  afterAll(async () => {
    if (config) await closeQueues(config);
    await first?.close();
    await second?.close();
  });

  const on = (app: INestApplication) => request(app.getHttpServer() as Server);

  it('counts submits of one key over both instances and answers 429 with Retry-After beyond the limit', async () => {
    await on(first).post('/runs').set(bearer(key)).send(submission).expect(201);
    await on(second).post('/runs').set(bearer(key)).send(submission).expect(201);
    await on(first).post('/runs').set(bearer(key)).send(submission).expect(201);
    const limited = await on(second).post('/runs').set(bearer(key)).send(submission).expect(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(limited.body.message).toMatch(/^rate limit exceeded: at most 3 submits per 30 s per API key \(RATE_LIMIT_SUBMITS\); retry after \d+ s$/);
    // Every submit route shares the budget; other keys have their own; light reads are not counted.
    await on(first).post('/evaluations').set(bearer(key)).send({ runId: randomUuid() }).expect(429);
    await on(first).post('/runs').set(bearer(otherKey)).send(submission).expect(201);
    await on(first).get('/runs/00000000-0000-4000-8000-00000000abcd').set(bearer(key)).expect(404);
    // The counts live in Redis, under the deployment's prefix.
    const redis = new Redis(config.redisUrl);
    try {
      expect((await redis.keys(`${config.queuePrefix}:rate-limit:*`)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('limits heavy reads on their own budget', async () => {
    await on(first).get('/runs').set(bearer(otherKey)).expect(200);
    await on(second).get('/evaluations').set(bearer(otherKey)).expect(200);
    const limited = await on(first).get('/runs').set(bearer(otherKey)).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.body.message).toMatch(/at most 2 heavy reads per 30 s per API key \(RATE_LIMIT_HEAVY_READS\)/);
  });
});

describe('rate limits while Redis is unreachable', () => {
  let app: INestApplication;

  beforeAll(async () => {
    // Nothing listens on this port: the limits' Redis is down from the start.
    app = await startApp(testApiConfig('rate-down', { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMIT_HEAVY_READS: '1' }));
  });
  afterAll(() => app?.close());

  it('fail open: a heavy read that needs only Postgres is answered at once, uncounted', async () => {
    const dataSource = app.get(DataSource);
    const key = await createTestKey(dataSource, { tenant: tenantName('rate-down') });
    const { tenantId } = (await app.get(ApiKeyRepository).authenticate(key))!;
    const run = await dataSource.getRepository(Run).save({ tenantId, kind: 'train', status: 'succeeded', spec: { ...trainingSpec, kind: 'train' } });
    for (let i = 0; i < 3; i += 1) {
      const started = Date.now();
      await request(app.getHttpServer() as Server)
        .get(`/runs/${run.id}/metrics`)
        .set(bearer(key))
        .expect(200);
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it('answers a submit 503 naming Redis at once, storing nothing: it could not be queued anyway', async () => {
    const dataSource = app.get(DataSource);
    const key = await createTestKey(dataSource, { tenant: tenantName('rate-down') });
    const { tenantId } = (await app.get(ApiKeyRepository).authenticate(key))!;
    const started = Date.now();
    const res = await request(app.getHttpServer() as Server)
      .post('/runs')
      .set(bearer(key))
      .send(submission)
      .expect(503);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.body.message).toBe('redis is unavailable');
    expect(await dataSource.getRepository(Run).countBy({ tenantId })).toBe(0);
  });
});

describe('CORS for configured origins', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp(testApiConfig('cors', { CORS_ORIGINS: 'https://app.example' }));
  });
  afterAll(() => app?.close());

  it('answers a preflight of a named origin, and none of another', async () => {
    const allowed = await request(app.getHttpServer() as Server)
      .options('/runs')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(allowed.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    const refused = await request(app.getHttpServer() as Server)
      .options('/runs')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });
});

function randomUuid(): string {
  return '00000000-0000-4000-8000-' + randomBytes(6).toString('hex');
}
