import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { DASHBOARD_CSP } from '../../apps/api/src/dashboard/dashboard-static';
import { ApiConfig } from '../../libs/config/src';
import { EVALUATION_GPU_QUEUE, TRAINING_QUEUE, announceWorker, redisClientOptions, redisConnectionOptions } from '../../libs/queue/src/index';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

/** GET /queues against the real Redis (jobs added by hand, a worker announced by hand) and the dashboard's static files. */
describe('queues API and dashboard files (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let admin: HttpClient;
  let member: HttpClient;
  let training: Queue;
  let redis: Redis;

  beforeAll(async () => {
    config = testApiConfig('queues');
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    admin = await keyedHttp(app, { role: 'admin' });
    member = await keyedHttp(app);
    training = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    redis = new Redis(redisClientOptions(config.redisUrl));
  });

  afterAll(async () => {
    await training?.obliterate({ force: true });
    await training?.close();
    redis?.disconnect();
    await app?.close();
  });

  it('counts waiting and delayed jobs per queue and lists the announced workers, for an admin', async () => {
    await training.add('train', { runId: '00000000-0000-4000-8000-000000000001' });
    await training.add('train', { runId: '00000000-0000-4000-8000-000000000002' });
    await training.add('train', { runId: '00000000-0000-4000-8000-000000000003' }, { delay: 60_000 });
    await announceWorker(redis, config.queuePrefix, {
      id: 'host-a:42',
      host: 'host-a',
      pid: 42,
      backend: { name: 'wasm', gpu: false, description: 'wasm (SIMD)' },
      queues: [TRAINING_QUEUE],
      startedAt: '2026-12-06T12:00:00.000Z',
    });

    const res = await admin().get('/queues').expect(200);
    expect(res.body.queues.map((q: { name: string }) => q.name)).toEqual([
      'training',
      'evaluation',
      'gradients',
      'training-gpu',
      'evaluation-gpu',
      'gradients-gpu',
    ]);
    expect(res.body.queues[0]).toEqual({ name: 'training', waiting: 2, active: 0, delayed: 1, failed: 0, workers: 1 });
    expect(res.body.queues.find((q: { name: string }) => q.name === EVALUATION_GPU_QUEUE)).toMatchObject({ waiting: 0, workers: 0 });
    expect(res.body.workers).toEqual([
      { id: 'host-a:42', host: 'host-a', pid: 42, backend: 'wasm', gpu: false, queues: ['training'], startedAt: '2026-12-06T12:00:00.000Z' },
    ]);
  });

  it("refuses a member's key (the counts span every tenant) and a request without one", async () => {
    const res = await member().get('/queues').expect(403);
    expect(res.body.message).toBe('this needs a key of role admin; yours is member');
    await request(app.getHttpServer() as Server)
      .get('/queues')
      .expect(401);
  });

  it('serves /ui without a key, under its Content-Security-Policy, and Chart.js beside it', async () => {
    const server = request(app.getHttpServer() as Server);
    const page = await server.get('/ui/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(page.text).toContain('<script type="module" src="app.js"></script>');
    const script = await server.get('/ui/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    const chart = await server.get('/ui/vendor/chart.umd.js').expect(200);
    expect(chart.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(chart.text.length).toBeGreaterThan(100_000);
    await server.get('/ui/missing.js').expect(404);
    // The page is public; the API behind it is not.
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    await server.get('/runs').expect(401);
  });
});
