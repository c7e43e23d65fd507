import { Redis } from 'ioredis';
import { liveWorkers, redisClientOptions } from '../../libs/queue/src/index';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, waitFor } from '../support/processes';

jest.setTimeout(180_000);

/** A real worker on wasm: it announces itself as no GPU, leaves the GPU queues alone, and the API says so. */
describe('GPU routing end to end (API + a worker without a GPU)', () => {
  let cluster: TestCluster;
  let redis: Redis;
  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const train = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: 41 };

  beforeAll(async () => {
    assertBuilt();
    // No BULWARK_BACKEND: the worker selects on its own, as on a user's machine.
    cluster = await startTestCluster('e2e-gpu', { BULWARK_BACKEND: '' });
    redis = new Redis(redisClientOptions(cluster.env.REDIS_URL));
  });

  afterAll(async () => {
    await cluster?.stop();
    await redis?.quit();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-8000)}`);
    }
  });

  it('announces the worker with its probed backend and only the plain queues', async () => {
    const workers = await liveWorkers(redis, cluster.env.QUEUE_PREFIX);
    expect(workers).toEqual([
      expect.objectContaining({
        pid: cluster.worker.child.pid,
        backend: expect.objectContaining({ name: 'wasm', gpu: false }),
        queues: ['training', 'evaluation', 'gradients'],
      }),
    ]);
    expect(cluster.worker.output()).toContain('not consuming "training-gpu"');
  });

  it('leaves a GPU run queued, saying why, while it runs a plain one', async () => {
    const gpuRun = (await call('POST', '/runs', { ...train, requiresGpu: true })).body;
    expect(gpuRun).toMatchObject({ status: 'queued', waitingFor: 'no worker with a GPU is connected; the run waits in queue training-gpu until one is' });
    const plainRun = (await call('POST', '/runs', { ...train, seed: 42 })).body;
    expect(plainRun.waitingFor).toBeNull();

    await waitFor('the plain run to succeed', async () => (await call('GET', `/runs/${plainRun.id}`)).body.status === 'succeeded', 150_000);
    expect((await call('GET', `/runs/${gpuRun.id}`)).body).toMatchObject({
      status: 'queued',
      startedAt: null,
      waitingFor: expect.stringMatching(/^no worker with a GPU/),
    });
    // The job's process ran on the probe's choice without asking Dawn for an adapter again.
    const output = cluster.worker.output();
    expect(output).toMatch(/\[worker child \d+\] ready: backend wasm/);
    expect(output.match(/tfjs backend webgpu/g)).toHaveLength(1);
  });

  it('withdraws the announcement when the worker stops', async () => {
    expect(await cluster.worker.stop()).toBe(0);
    expect(await liveWorkers(redis, cluster.env.QUEUE_PREFIX)).toEqual([]);
  });
});
