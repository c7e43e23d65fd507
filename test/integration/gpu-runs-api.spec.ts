import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import {
  TRAINING_GPU_QUEUE,
  TRAINING_QUEUE,
  announceWorker,
  redisClientOptions,
  redisConnectionOptions,
  withdrawWorker,
  type WorkerPresence,
} from '../../libs/queue/src/index';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

/** Seeds of this file's runs, apart from the other integration files' (they share the database). */
const FILE_SEED = 7500;

const body = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: FILE_SEED };

function presence(gpu: boolean, queues: WorkerPresence['queues']): WorkerPresence {
  const id = `test-host:${gpu ? 1 : 2}`;
  return {
    id,
    host: 'test-host',
    pid: gpu ? 1 : 2,
    backend: { name: gpu ? 'node-gpu' : 'wasm', gpu, description: '' },
    queues,
    startedAt: new Date().toISOString(),
  };
}

describe('runs that require a GPU (real Postgres and Redis, no worker process)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let redis: Redis;
  let queues: Queue[];
  let http: HttpClient;

  beforeAll(async () => {
    config = testApiConfig('gpu');
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    redis = new Redis(redisClientOptions(config.redisUrl));
    queues = [TRAINING_QUEUE, TRAINING_GPU_QUEUE].map(
      (name) => new Queue(name, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix }),
    );
  });

  afterAll(async () => {
    for (const queue of queues ?? []) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await redis?.quit();
    await app?.close();
  });

  it('accepts the run, queues it on training-gpu, and says while no GPU worker is connected that it waits', async () => {
    // A CPU worker is connected: it does not count.
    await announceWorker(redis, config.queuePrefix, presence(false, ['training', 'evaluation']));

    const created = await http()
      .post('/runs')
      .send({ ...body, requiresGpu: true })
      .expect(201);
    expect(created.body).toMatchObject({
      status: 'queued',
      spec: { requiresGpu: true },
      waitingFor: 'no worker with a GPU is connected; the run waits in queue training-gpu until one is',
    });
    const [plainQueue, gpuQueue] = queues;
    expect((await gpuQueue.getJob(created.body.id))?.name).toBe('train');
    expect(await plainQueue.getJob(created.body.id)).toBeUndefined();

    const listed = await http().get('/runs').query({ kind: 'train', status: 'queued' }).expect(200);
    expect(listed.body.items.find((item: { id: string }) => item.id === created.body.id)).toMatchObject({
      waitingFor: expect.stringMatching(/^no worker with a GPU/),
    });

    // A GPU worker that consumes training-gpu appears: the same run no longer waits for one.
    const gpuWorker = presence(true, ['training', 'evaluation', 'training-gpu', 'evaluation-gpu']);
    await announceWorker(redis, config.queuePrefix, gpuWorker);
    expect((await http().get(`/runs/${created.body.id}`).expect(200)).body.waitingFor).toBeNull();

    await withdrawWorker(redis, config.queuePrefix, gpuWorker.id);
    expect((await http().get(`/runs/${created.body.id}`).expect(200)).body.waitingFor).toMatch(/^no worker with a GPU is connected/);

    // Cancelling removes the job from the GPU queue, where it waited.
    expect((await http().post(`/runs/${created.body.id}/cancel`).expect(202)).body).toMatchObject({ status: 'cancelled', waitingFor: null });
    expect(await gpuQueue.getJob(created.body.id)).toBeUndefined();
  });

  it('queues a run without requiresGpu on the plain queue, with nothing to wait for', async () => {
    const created = await http()
      .post('/runs')
      .send({ ...body, seed: FILE_SEED + 1 })
      .expect(201);
    expect(created.body.spec).not.toHaveProperty('requiresGpu');
    expect(created.body.waitingFor).toBeNull();
    expect((await queues[0].getJob(created.body.id))?.name).toBe('train');
  });
});
