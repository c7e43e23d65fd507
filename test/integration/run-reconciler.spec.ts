import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { DataSource } from 'typeorm';
import { RunReconciler } from '../../apps/worker/src/reconciliation/run.reconciler';
import { WorkerConfig, loadWorkerConfig } from '../../libs/config/src';
import { Run, RunRepository, dataSourceOptions } from '../../libs/database/src';
import { EVALUATION_QUEUE, TRAINING_QUEUE, redisConnectionOptions, runJobOptions } from '../../libs/queue/src';
import type { RunSpec, TrainingRunSpec } from '../../libs/spec/src';
import { ScratchDatabase, createScratchDatabase } from '../support/scratch-database';
import { waitFor } from '../support/processes';
import { uniqueQueuePrefix } from '../support/test-config';

const spec: TrainingRunSpec = {
  kind: 'train',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 32,
  seed: 1,
  learningRate: 0.001,
  testFraction: 0.2,
};
const backend = { name: 'cpu', tfjsVersion: '4.22.0', threads: 1 };

/**
 * The reconciler against real Postgres and Redis, on a database of its own (it takes every
 * unfinished run of its database for its business). Each case builds the stranded state an
 * outage or a crash leaves (a run row and its job, or no job) and checks what one pass does.
 */
describe('RunReconciler (real Postgres and Redis)', () => {
  let database: ScratchDatabase;
  let dataSource: DataSource;
  let runs: RunRepository;
  let config: WorkerConfig;
  let reconciler: RunReconciler;
  let training: Queue;
  let evaluation: Queue;

  beforeAll(async () => {
    database = await createScratchDatabase('reconcile');
    dataSource = await new DataSource(dataSourceOptions(database.url, 'reconciler-test')).initialize();
    runs = new RunRepository(dataSource);
    config = loadWorkerConfig({
      ...process.env,
      DATABASE_URL: database.url,
      QUEUE_PREFIX: uniqueQueuePrefix('reconcile'),
      RECONCILE_GRACE_MS: '60000',
      CRASH_BUDGET: '2',
    });
    reconciler = new RunReconciler(config, dataSource, runs);
    const connection = redisConnectionOptions(config.redisUrl);
    training = new Queue(TRAINING_QUEUE, { connection, prefix: config.queuePrefix });
    evaluation = new Queue(EVALUATION_QUEUE, { connection, prefix: config.queuePrefix });
  });

  afterAll(async () => {
    await reconciler?.onApplicationShutdown();
    for (const queue of [training, evaluation]) {
      await queue?.obliterate({ force: true });
      await queue?.close();
    }
    await dataSource?.destroy();
    await database?.drop();
  });

  /** A run as stored, last changed an hour ago (past the grace), in `status`. */
  async function strandedRun(status: 'queued' | 'running', extra: Partial<Run> = {}, runSpec: RunSpec = spec): Promise<Run> {
    const run = await dataSource.getRepository(Run).save({ kind: runSpec.kind, status: 'queued', spec: runSpec, ...extra });
    if (status === 'running') await runs.markRunning(run.id, backend, 1);
    await dataSource.query(`UPDATE runs SET updated_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    return run;
  }

  /** The run's job, failed for good with `reason` (its attempts spent), as a worker leaves it. */
  async function failJob(queue: Queue, run: Run, reason: string): Promise<void> {
    await queue.add(run.kind, { runId: run.id }, { ...runJobOptions(run.id, { attempts: 1, backoffMs: 0 }) });
    const worker = new Worker(
      queue.name,
      () => {
        throw new Error(reason);
      },
      { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix },
    );
    await waitFor('the job to fail', async () => (await queue.getJobState(run.id)) === 'failed', 10_000, 50);
    await worker.close();
  }

  const state = (queue: Queue, run: Run) => queue.getJobState(run.id);

  it('enqueues a queued row whose job never reached Redis, once, and leaves a fresh one to the API', async () => {
    const orphan = await strandedRun('queued');
    const fresh = await dataSource.getRepository(Run).save({ kind: 'train', status: 'queued', spec });
    await reconciler.reconcile();
    expect(await state(training, orphan)).toBe('waiting');
    const job = (await training.getJob(orphan.id)) as Job;
    expect(job).toMatchObject({ name: 'train', data: { runId: orphan.id }, opts: expect.objectContaining({ attempts: config.jobAttempts }) });
    expect(await state(training, fresh)).toBe('unknown');
    // The next pass finds a live job and adds nothing.
    expect(await reconciler.reconcile()).toBe(0);
    expect(await training.getJobCounts('waiting')).toEqual({ waiting: 1 });
    await training.remove(orphan.id);
    await runs.markCancelled(orphan.id);
    await runs.markCancelled(fresh.id);
  });

  it('resumes a running run whose attempts were spent during an outage: queued again, with a new job, saying why', async () => {
    const run = await strandedRun('running');
    await runs.saveCheckpoint(run.id, 1, Buffer.from([1]), 'a'.repeat(64), 'test');
    await failJob(training, run, 'connect ECONNREFUSED 127.0.0.1:5432');
    await reconciler.reconcile();
    const after = await runs.find(run.id);
    expect(after).toMatchObject({ status: 'queued', crashes: 0, crashCheckpointEpoch: 1 });
    expect(after!.error).toMatch(/^its job failed on an outage \(connect ECONNREFUSED/);
    expect(after!.nextAttemptAt).toBeInstanceOf(Date);
    const job = (await training.getJob(run.id)) as Job;
    expect(await job.getState()).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    await training.remove(run.id);
    await runs.markCancelled(run.id);
  });

  it('records a failure for good that never reached the run', async () => {
    const run = await strandedRun('running');
    await failJob(training, run, 'loss became NaN');
    await reconciler.reconcile();
    expect(await runs.find(run.id)).toMatchObject({ status: 'failed', error: 'loss became NaN' });
  });

  it('ends cancelled a running run whose cancel no job will ever see', async () => {
    const run = await strandedRun('running');
    expect(await runs.requestCancel(run.id)).toBe(true);
    await dataSource.query(`UPDATE runs SET updated_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    await reconciler.reconcile();
    expect(await runs.find(run.id)).toMatchObject({ status: 'cancelled' });
    expect(await state(training, run)).toBe('unknown');
  });

  it('resumes a run whose job was lost within its crash budget, and fails it with a reason past the budget', async () => {
    const run = await strandedRun('running');
    for (const crashes of [1, 2]) {
      await reconciler.reconcile();
      expect(await runs.find(run.id)).toMatchObject({ status: 'queued', crashes });
      // Its new job is lost in turn, with the worker that had started it.
      await training.remove(run.id);
      await runs.markRunning(run.id, backend, 1);
      await dataSource.query(`UPDATE runs SET updated_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    }
    await reconciler.reconcile();
    const failed = await runs.find(run.id);
    expect(failed).toMatchObject({ status: 'failed', crashes: 3 });
    expect(failed!.error).toBe('its worker crashed 3 times in a row without writing a checkpoint, more than its crash budget allows (CRASH_BUDGET=2)');
    expect(await state(training, run)).toBe('unknown');
  });

  it('leaves alone a run whose job is live: waiting, delayed, or an evaluation parked while its shards run', async () => {
    const waiting = await strandedRun('running');
    await training.add('train', { runId: waiting.id }, runJobOptions(waiting.id, { attempts: 1, backoffMs: 0 }));
    const delayed = await strandedRun('queued', { nextAttemptAt: new Date(Date.now() + 60_000) });
    await training.add('train', { runId: delayed.id }, { ...runJobOptions(delayed.id, { attempts: 1, backoffMs: 0 }), delay: 60_000 });
    const evaluationSpec = { kind: 'evaluation' } as RunSpec;
    const parked = await strandedRun('running', {}, evaluationSpec);
    // A shard that no worker takes keeps its parent waiting for it.
    const flows = new FlowProducer({ connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    await flows.add({
      name: 'evaluation',
      queueName: EVALUATION_QUEUE,
      data: { runId: parked.id },
      opts: runJobOptions(parked.id, { attempts: 1, backoffMs: 0 }),
      children: [
        {
          name: 'evaluation-shard',
          queueName: EVALUATION_QUEUE,
          data: { runId: parked.id, view: 'direct', index: 0 },
          opts: { jobId: `${parked.id}.direct.0` },
        },
      ],
    });
    await flows.close();
    expect(await state(evaluation, parked)).toBe('waiting-children');
    expect(await reconciler.reconcile()).toBe(0);
    expect(await runs.find(waiting.id)).toMatchObject({ status: 'running', crashes: 0 });
    expect(await runs.find(delayed.id)).toMatchObject({ status: 'queued' });
    expect(await runs.find(parked.id)).toMatchObject({ status: 'running' });
    for (const run of [waiting, delayed, parked]) await runs.markCancelled(run.id);
    await training.obliterate({ force: true });
    await evaluation.obliterate({ force: true });
  });

  it('lets one reconciler at a time act: passes started together enqueue each stranded run once', async () => {
    const orphans = await Promise.all([strandedRun('queued'), strandedRun('queued'), strandedRun('queued')]);
    const others = [0, 1].map(() => new RunReconciler(config, dataSource, runs));
    const moved = await Promise.all([reconciler.reconcile(), ...others.map((r) => r.reconcile())]);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(3);
    expect(await training.getJobCounts('waiting')).toEqual({ waiting: 3 });
    await Promise.all(others.map((r) => r.onApplicationShutdown()));
    for (const run of orphans) await runs.markCancelled(run.id);
    await training.obliterate({ force: true });
  });
});
