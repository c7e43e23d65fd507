import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { createTestKeyAt } from '../support/api-keys';
import { API_MAIN, ManagedProcess, assertBuilt, freePort, startProcess, waitFor } from '../support/processes';
import { PrivatePostgres, PrivateRedis, startPrivatePostgres, startPrivateRedis } from '../support/private-services';
import { TimedAnswer, timedCall } from '../support/timed-http';

jest.setTimeout(120_000);

/** The bound on an answer while a store is down. */
const FAST_MS = 1000;
const SPEC = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: 1 };

/**
 * Issue 16, problem 3: the API against a Redis of its own that the test kills. Every endpoint
 * answers at once (503 naming Redis where Redis is needed, 200 where Postgres alone answers),
 * a submit refused in the outage leaves no run without a job, and SIGTERM still stops the API.
 */
describe('the API while its Redis is down', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let api: ManagedProcess;
  let base: string;
  let db: Pool;
  let queue: Queue;
  const prefix = 'chaos-redis-outage';
  let auth: Record<string, string>;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    timedCall(base, method, path, body, { ...auth, ...headers });

  beforeAll(async () => {
    assertBuilt();
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis({ appendonly: true })]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = startProcess(API_MAIN, { DATABASE_URL: pg.url, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, API_PORT: String(port), API_HOST: '127.0.0.1' });
    await waitFor('the API to be healthy', async () => (await fetch(`${base}/health`)).ok, 60_000);
    auth = { Authorization: `Bearer ${await createTestKeyAt(pg.url)}` };
    db = new Pool({ connectionString: pg.url, max: 1 });
    // Its idle connection ends when the test stops Postgres; the next query opens another.
    db.on('error', () => undefined);
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(redis.url), prefix });
    // It loses its connection whenever the test kills Redis, and reconnects by itself.
    queue.on('error', () => undefined);
  });

  afterAll(async () => {
    await queue?.close();
    await db?.end();
    await api?.stop(5000);
    await Promise.all([pg?.destroy(), redis?.destroy()]);
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(`--- api ---\n${api.output().slice(-3000)}`);
  });

  const expectFast503 = (answer: TimedAnswer, store: string) => {
    expect({ status: answer.status, message: answer.body?.message }).toEqual({ status: 503, message: `${store} is unavailable` });
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    // Short and honest: no address, no driver text.
    expect(JSON.stringify(answer.body)).not.toMatch(/ECONN|127\.0\.0\.1|:\d{4,5}|Stream|ioredis/);
    expect(answer.ms).toBeLessThan(FAST_MS);
  };

  it('answers every endpoint within a second, creates no orphan run, and runs the refused submit after the outage', async () => {
    const before = await call('POST', '/runs', SPEC);
    expect(before.status).toBe(201);
    const runId: string = before.body.id;

    await redis.kill();

    expectFast503(await call('GET', '/health'), 'redis');
    const submitted = await call('POST', '/runs', { ...SPEC, seed: 2 });
    expectFast503(submitted, 'redis');
    const keyed = await call('POST', '/runs', { ...SPEC, seed: 3 }, { 'Idempotency-Key': 'outage-key-1' });
    expectFast503(keyed, 'redis');
    // Postgres alone answers reads, and holds a cancel.
    const read = await call('GET', `/runs/${runId}`);
    expect([read.status, read.body.status]).toEqual([200, 'queued']);
    expect(read.ms).toBeLessThan(FAST_MS);
    const list = await call('GET', '/runs');
    expect([list.status, list.body.total]).toEqual([200, 1]);
    expect(list.ms).toBeLessThan(FAST_MS);
    const cancelled = await call('POST', `/runs/${runId}/cancel`);
    expect([cancelled.status, cancelled.body.status]).toEqual([202, 'cancelled']);
    expect(cancelled.ms).toBeLessThan(FAST_MS);

    // The refused submits left nothing behind: no run row without a job.
    expect((await db.query('SELECT id, status FROM runs')).rows).toEqual([{ id: runId, status: 'cancelled' }]);

    await redis.start();
    await waitFor('the API to see Redis again', async () => (await call('GET', '/health')).status === 200, 30_000);
    // The same key after the outage creates the run (it was never stored), then finds it.
    const retried = await call('POST', '/runs', { ...SPEC, seed: 3 }, { 'Idempotency-Key': 'outage-key-1' });
    expect([retried.status, retried.body.status, retried.headers.get('idempotent-replayed')]).toEqual([201, 'queued', null]);
    const replayed = await call('POST', '/runs', { ...SPEC, seed: 3 }, { 'Idempotency-Key': 'outage-key-1' });
    expect([replayed.body.id, replayed.headers.get('idempotent-replayed')]).toEqual([retried.body.id, 'true']);
    // Every queued run has its job.
    const queued = (await db.query<{ id: string }>("SELECT id FROM runs WHERE status = 'queued'")).rows.map((r) => r.id);
    expect(queued).toEqual([retried.body.id]);
    for (const id of queued) expect(await queue.getJob(id)).toBeDefined();
  });

  it('answers within a second while Redis is frozen: connected, but answering nothing', async () => {
    const queued = await call('POST', '/runs', { ...SPEC, seed: 4 });
    expect(queued.status).toBe(201);
    redis.freeze();
    try {
      expectFast503(await call('GET', '/health'), 'redis');
      expectFast503(await call('POST', '/runs', { ...SPEC, seed: 5 }), 'redis');
      for (const path of [`/runs/${queued.body.id}`, '/runs']) {
        const read = await call('GET', path);
        expect([path, read.status, read.ms < FAST_MS]).toEqual([path, 200, true]);
      }
      const cancelled = await call('POST', `/runs/${queued.body.id}/cancel`);
      expect([cancelled.status, cancelled.body.status, cancelled.ms < FAST_MS]).toEqual([202, 'cancelled', true]);
    } finally {
      redis.thaw();
    }
    await waitFor('the API to see Redis again', async () => (await call('GET', '/health')).status === 200, 30_000);
    expect((await db.query("SELECT count(*)::int AS n FROM runs WHERE (spec->>'seed')::int = 5")).rows).toEqual([{ n: 0 }]);
  });

  it('answers 503 naming Postgres while Postgres is down, and reads again once it is back', async () => {
    await pg.stop();
    try {
      expectFast503(await call('GET', '/health'), 'postgres');
      expectFast503(await call('GET', '/runs'), 'postgres');
      expectFast503(await call('POST', '/runs', SPEC), 'postgres');
    } finally {
      await pg.start();
    }
    await waitFor('the API to see Postgres again', async () => (await call('GET', '/runs')).status === 200, 30_000);
  });

  it('stops on SIGTERM within its grace period while Redis and Postgres are down', async () => {
    // Holding a connection of each first, so closing has something to wait on.
    expect((await call('GET', '/runs')).status).toBe(200);
    await Promise.all([redis.kill(), pg.stop()]);
    const signalled = Date.now();
    const code = await api.stop(30_000);
    // Closing its queues and connections, not the API's 10 s grace nor a 30 s kill.
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(8000);
    await Promise.all([redis.start(), pg.start()]);
  });
});
