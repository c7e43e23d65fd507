import { INestApplication } from '@nestjs/common';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { RunRepository } from '../../libs/database/src';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { HttpClient, keyedHttp } from '../support/api-keys';
import { waitFor } from '../support/processes';
import { testApiConfig } from '../support/test-config';

const valid = { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 2, batchSize: 64, seed: 7411 };
const backend = { name: 'cpu', tfjsVersion: '4.22.0', threads: 1 };

/**
 * Cancelling a running run whatever state its job is in (no worker here: the test plays the
 * worker's part on the run row and the job). A cancel flag is read only by a worker that holds
 * the job; a run whose job no worker holds must end at once, or it stays running for good.
 */
describe('POST /runs/:id/cancel of a running run (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let queue: Queue;
  let runs: RunRepository;
  let http: HttpClient;

  beforeAll(async () => {
    config = testApiConfig('cancel');
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    runs = new RunRepository(app.get(DataSource));
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    await app?.close();
  });

  /** A run a worker had started: submitted, its job enqueued, marked running. */
  async function runningRun(): Promise<string> {
    const { body } = await http().post('/runs').send(valid).expect(201);
    await runs.markRunning(body.id as string, backend, 1);
    return body.id as string;
  }

  /** A worker on this file's queue that handles each job with `process`. */
  function worker(process: () => Promise<void>): Worker {
    return new Worker(TRAINING_QUEUE, process, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
  }

  it('ends cancelled at once a running run whose job is gone (its worker died and an outage lost the job)', async () => {
    const id = await runningRun();
    await queue.remove(id);
    const res = await http().post(`/runs/${id}/cancel`).expect(202);
    expect(res.body).toMatchObject({ status: 'cancelled' });
    expect(res.body.finishedAt).not.toBeNull();
  });

  it('ends cancelled at once a running run whose job failed for good while its failure could not be recorded', async () => {
    const id = await runningRun();
    // Its last attempt failed on an outage (unrecoverable here only to spend its attempts at once).
    const failing = worker(() => Promise.reject(new UnrecoverableError('connect ECONNREFUSED 127.0.0.1:5432')));
    await waitFor('the job to fail', async () => (await queue.getJobState(id)) === 'failed', 10_000, 50);
    await failing.close();
    expect((await http().get(`/runs/${id}`).expect(200)).body.status).toBe('running');
    expect((await http().post(`/runs/${id}/cancel`).expect(202)).body).toMatchObject({ status: 'cancelled' });
  });

  it('ends cancelled at once a running run whose job waits to be re-delivered, and removes the job', async () => {
    const id = await runningRun();
    expect(await queue.getJobState(id)).toBe('waiting');
    expect((await http().post(`/runs/${id}/cancel`).expect(202)).body).toMatchObject({ status: 'cancelled' });
    expect(await queue.getJob(id)).toBeUndefined();
  });

  it('flags a run whose job a worker holds, leaving the worker to end it at its next batch', async () => {
    const id = await runningRun();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding = worker(() => held);
    await waitFor('a worker to hold the job', async () => (await queue.getJobState(id)) === 'active', 10_000, 50);
    const res = await http().post(`/runs/${id}/cancel`).expect(202);
    expect(res.body).toMatchObject({ status: 'running' });
    expect(res.body.cancelRequestedAt).not.toBeNull();
    expect(await runs.isCancelRequested(id)).toBe(true);
    release();
    await holding.close();
    await runs.markCancelled(id);
  });
});
