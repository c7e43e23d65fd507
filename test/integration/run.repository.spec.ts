import { DataSource } from 'typeorm';
import { Checkpoint, DEFAULT_TENANT_ID, Metric, Run, RunRepository, dataSourceOptions } from '../../libs/database/src';
import { TrainingRunSpec } from '../../libs/spec/src';

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
const newRunOptions = { tenantId: DEFAULT_TENANT_ID, spec, idempotencyKey: null, requestHash: 'h'.repeat(64), parentRunId: null, parentCheckpointId: null };

describe('RunRepository (real Postgres)', () => {
  let dataSource: DataSource;
  let repository: RunRepository;
  const newRun = () => dataSource.getRepository(Run).save({ kind: 'train', status: 'queued', spec });

  beforeAll(async () => {
    dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'run-repository-test')).initialize();
    repository = new RunRepository(dataSource);
  });
  afterAll(() => dataSource?.destroy());

  it('stores a queued run with its checkpoint and metrics in one step; a second store under the same key returns the first run', async () => {
    const key = `repository-${Date.now()}`;
    const checkpoint = { epoch: 1, data: Buffer.from([1, 2, 3]), sha256: 'a'.repeat(64), format: 'test' };
    const metrics = [
      { key: 'train_loss', step: 1, value: 0.5 },
      { key: 'test_clean_accuracy', step: 1, value: 0.8 },
    ];
    const { run, created } = await repository.createQueued({ ...newRunOptions, idempotencyKey: key, checkpoint, metrics });
    expect(created).toBe(true);
    expect(run).toMatchObject({ kind: 'train', status: 'queued', idempotencyKey: key, progress: 0, attempts: 0 });
    expect(await repository.checkpointAt(run.id, 1)).toMatchObject({ sha256: 'a'.repeat(64), sizeBytes: 3, format: 'test' });
    expect((await repository.metrics(run.id)).map((m) => [m.key, m.step, m.value])).toEqual([
      ['test_clean_accuracy', 1, 0.8],
      ['train_loss', 1, 0.5],
    ]);

    const again = await repository.createQueued({ ...newRunOptions, idempotencyKey: key, checkpoint });
    expect(again).toMatchObject({ created: false, run: { id: run.id } });
    expect(await dataSource.getRepository(Run).countBy({ idempotencyKey: key })).toBe(1);
    expect(await dataSource.getRepository(Checkpoint).countBy({ runId: run.id })).toBe(1);
  });

  it('upserts metric points keyed (run, key, step): a re-delivered epoch rewrites, never duplicates', async () => {
    const run = await newRun();
    await repository.upsertMetrics(run.id, [
      { key: 'train_loss', step: 1, value: 0.9 },
      { key: 'train_loss', step: 2, value: 0.5 },
    ]);
    await repository.upsertMetrics(run.id, [
      { key: 'train_loss', step: 2, value: 0.4 },
      { key: 'train_loss', step: 3, value: 0.3 },
    ]);
    const rows = await dataSource.getRepository(Metric).find({ where: { runId: run.id }, order: { step: 'ASC' } });
    expect(rows.map((r) => [r.step, r.value])).toEqual([
      [1, 0.9],
      [2, 0.4],
      [3, 0.3],
    ]);
  });

  it('keeps one checkpoint per epoch and returns the newest with its bytes', async () => {
    const run = await newRun();
    await repository.saveCheckpoint(run.id, 1, Buffer.from([1, 2, 3]), 'a'.repeat(64), 'test');
    await repository.saveCheckpoint(run.id, 2, Buffer.from([4, 5]), 'b'.repeat(64), 'test');
    await repository.saveCheckpoint(run.id, 2, Buffer.from([6, 7, 8, 9]), 'c'.repeat(64), 'test');
    expect(await dataSource.getRepository(Checkpoint).countBy({ runId: run.id })).toBe(2);
    const latest = await repository.latestCheckpoint(run.id);
    expect(latest).toMatchObject({ epoch: 2, sha256: 'c'.repeat(64), sizeBytes: 4 });
    expect([...latest!.data]).toEqual([6, 7, 8, 9]);
    expect(await repository.latestCheckpoint((await newRun()).id)).toBeNull();
    expect(await repository.checkpointOf(run.id)).toMatchObject({ epoch: 2 });
    expect(await repository.checkpointOf(run.id, 1)).toMatchObject({ epoch: 1 });
    expect((await repository.checkpointOf(run.id, 1))?.data).toBeUndefined();
  });

  it('guards transitions: a cancelled or finished run cannot be started or finished again', async () => {
    const run = await newRun();
    expect(await repository.markRunning(run.id, backend, 1)).toMatchObject({ status: 'running', attempts: 1, backend });
    expect(await repository.markSucceeded(run.id)).toBe(true);
    expect(await repository.markFailed(run.id, 'late failure')).toBe(false);
    expect(await repository.markRunning(run.id, backend, 2)).toBeNull();
    expect(await repository.find(run.id)).toMatchObject({ status: 'succeeded', error: null, progress: 1 });

    const cancelled = await newRun();
    await dataSource.getRepository(Run).update(cancelled.id, { cancelRequestedAt: new Date() });
    expect(await repository.isCancelRequested(cancelled.id)).toBe(true);
    expect(await repository.markRunning(cancelled.id, backend, 1)).toBeNull();
  });

  it('cancels a queued run at once, flags a running one for its worker, and leaves an ended one as it was', async () => {
    const queued = await newRun();
    expect(await repository.requestCancel(queued.id)).toBe(true);
    const ended = await repository.find(queued.id);
    expect(ended).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(ended!.cancelRequestedAt).toBeInstanceOf(Date);
    expect(ended!.finishedAt).toBeInstanceOf(Date);
    expect(await repository.markRunning(queued.id, backend, 1)).toBeNull();
    expect(await repository.requestCancel(queued.id)).toBe(false);

    const running = await newRun();
    await repository.markRunning(running.id, backend, 1);
    expect(await repository.requestCancel(running.id)).toBe(true);
    const flagged = await repository.find(running.id);
    expect(flagged).toMatchObject({ status: 'running', finishedAt: null });
    expect(await repository.isCancelRequested(running.id)).toBe(true);
    // A second request keeps the first request's time.
    expect(await repository.requestCancel(running.id)).toBe(true);
    expect((await repository.find(running.id))!.cancelRequestedAt).toEqual(flagged!.cancelRequestedAt);
    expect(await repository.markCancelled(running.id)).toBe(true);
    expect(await repository.find(running.id)).toMatchObject({ status: 'cancelled' });

    const succeeded = await newRun();
    await repository.markSucceeded(succeeded.id);
    expect(await repository.requestCancel(succeeded.id)).toBe(false);
    expect(await repository.find(succeeded.id)).toMatchObject({ status: 'succeeded', cancelRequestedAt: null });
    expect(await repository.requestCancel('00000000-0000-4000-8000-000000000000')).toBe(false);
  });

  it('ends a run and rewrites its checkpoint in one step, keeping the checkpoint id; an ended run gets neither', async () => {
    const run = await newRun();
    await repository.saveCheckpoint(run.id, 0, Buffer.from([1, 2]), 'a'.repeat(64), 'upload');
    const before = (await repository.checkpointAt(run.id, 0))!;
    await repository.markRunning(run.id, backend, 1);

    const accepted = { epoch: 0, data: Buffer.from([3, 4, 5]), sha256: 'b'.repeat(64), format: 'accepted' };
    expect(await repository.markSucceededWithCheckpoint(run.id, accepted, { n: 3 })).toBe(true);
    expect(await repository.find(run.id)).toMatchObject({ status: 'succeeded', progress: 1, result: { n: 3 } });
    const after = (await repository.checkpointAt(run.id, 0))!;
    expect(after).toMatchObject({ id: before.id, sha256: 'b'.repeat(64), format: 'accepted', sizeBytes: 3 });
    expect([...after.data]).toEqual([3, 4, 5]);

    const again = { epoch: 0, data: Buffer.from([9]), sha256: 'c'.repeat(64), format: 'late' };
    expect(await repository.markSucceededWithCheckpoint(run.id, again)).toBe(false);
    expect(await repository.checkpointAt(run.id, 0)).toMatchObject({ sha256: 'b'.repeat(64), format: 'accepted' });
  });

  it('records a retryable failure as queued-with-reason, then a final one as failed', async () => {
    const run = await newRun();
    await repository.markRunning(run.id, backend, 1);
    const nextAttemptAt = new Date(Date.now() + 60_000);
    await repository.markRetrying(run.id, 'attempt 1 of 3 failed: boom', nextAttemptAt);
    expect(await repository.find(run.id)).toMatchObject({ status: 'queued', error: 'attempt 1 of 3 failed: boom', nextAttemptAt });
    // The retry starts: the run is running again, its attempts counted, the wait over.
    expect(await repository.markRunning(run.id, backend, 2)).toMatchObject({ status: 'running', attempts: 2, nextAttemptAt: null, error: null });
    await repository.markRetrying(run.id, 'attempt 2 of 3 failed: boom', nextAttemptAt);
    expect(await repository.markFailed(run.id, 'boom')).toBe(true);
    const failed = await repository.find(run.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'boom' });
    expect(failed!.finishedAt).toBeInstanceOf(Date);
  });

  it('counts crashes without progress: a newer checkpoint since the last crash starts the count again', async () => {
    const run = await newRun();
    await repository.saveCheckpoint(run.id, 1, Buffer.from([1]), 'a'.repeat(64), 'test');
    // The first start fixes where progress is measured from: the checkpoint of epoch 1.
    expect(await repository.markRunning(run.id, backend, 1)).toMatchObject({ crashCheckpointEpoch: 1, crashes: 0 });
    expect(await repository.recordStalls(run.id, 1)).toEqual({ crashes: 1, checkpointEpoch: 1 });
    // Counted once: a second delivery with the same stalled counter adds nothing.
    expect(await repository.recordStalls(run.id, 1)).toBeNull();
    // Two stalls before any delivery could count them: both count.
    expect(await repository.recordStalls(run.id, 3)).toEqual({ crashes: 3, checkpointEpoch: 1 });
    expect(await repository.markRunning(run.id, backend, 4)).toMatchObject({ attempts: 4, stallsCounted: 3 });
    await repository.saveCheckpoint(run.id, 2, Buffer.from([2]), 'b'.repeat(64), 'test');
    expect(await repository.recordStalls(run.id, 4)).toEqual({ crashes: 0, checkpointEpoch: 2 });
    expect(await repository.recordStalls(run.id, 5)).toEqual({ crashes: 1, checkpointEpoch: 2 });
  });

  it('re-queues a stranded running run as one more crash, its new job counted from zero; never an ended or cancelled one', async () => {
    const run = await newRun();
    await repository.markRunning(run.id, backend, 1);
    await repository.recordStalls(run.id, 2);
    // The job's third delivery (after two stalls) started, and was lost too.
    expect(await repository.markRunning(run.id, backend, 3)).toMatchObject({ attempts: 3 });
    expect(await repository.requeueStranded(run.id, 'its job was lost')).toEqual({ crashes: 3, checkpointEpoch: null });
    const requeued = await repository.find(run.id);
    expect(requeued).toMatchObject({ status: 'queued', error: 'its job was lost', stallsCounted: 0, crashes: 3 });
    expect(requeued!.nextAttemptAt).toBeInstanceOf(Date);
    // The new job's first delivery counts as one more attempt, though BullMQ says 1.
    expect(await repository.markRunning(run.id, backend, 1)).toMatchObject({ status: 'running', attempts: 4, nextAttemptAt: null });

    expect(await repository.requestCancel(run.id)).toBe(true);
    expect(await repository.requeueStranded(run.id, 'lost')).toBeNull();
    expect(await repository.markCancelled(run.id)).toBe(true);
    expect(await repository.requeueStranded(run.id, 'lost')).toBeNull();
  });

  it('lists the queued and running runs unchanged for longer than a grace, oldest change first', async () => {
    const old = await newRun();
    const running = await newRun();
    await repository.markRunning(running.id, backend, 1);
    const ended = await newRun();
    await repository.markFailed(ended.id, 'boom');
    await dataSource.query(`UPDATE runs SET updated_at = now() - interval '1 hour' WHERE id = ANY($1)`, [[old.id, running.id, ended.id]]);
    await dataSource.query(`UPDATE runs SET updated_at = now() - interval '2 hours' WHERE id = $1`, [running.id]);
    const fresh = await newRun();
    const found = (await repository.findUnfinished(60_000, 1000)).map((r) => r.id);
    expect(found.indexOf(running.id)).toBeLessThan(found.indexOf(old.id));
    expect(found).toContain(old.id);
    expect(found).not.toContain(ended.id);
    expect(found).not.toContain(fresh.id);
  });

  it('refuses rows the schema forbids', async () => {
    await expect(dataSource.query(`INSERT INTO runs (kind, status, spec) VALUES ('train', 'exploded', '{}')`)).rejects.toThrow(/check constraint/);
    const run = await newRun();
    await expect(repository.upsertMetrics('00000000-0000-4000-8000-000000000000', [{ key: 'x', step: 1, value: 1 }])).rejects.toThrow(/foreign key/);
    await expect(dataSource.query(`UPDATE runs SET progress = 2 WHERE id = $1`, [run.id])).rejects.toThrow(/check constraint/);
  });
});
