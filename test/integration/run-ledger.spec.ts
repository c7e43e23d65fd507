import { DataSource } from 'typeorm';
import { Checkpoint, Metric, Run, RunLedger, dataSourceOptions } from '../../libs/database/src';
import { TrainingRunSpec } from '../../libs/spec/src';

const spec: TrainingRunSpec = {
  kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2, batchSize: 32, seed: 1, learningRate: 0.001, testFraction: 0.2,
};
const backend = { name: 'cpu', tfjsVersion: '4.22.0', threads: 1 };

describe('RunLedger (real Postgres)', () => {
  let dataSource: DataSource;
  let ledger: RunLedger;
  const newRun = () => dataSource.getRepository(Run).save({ kind: 'train', status: 'queued', spec });

  beforeAll(async () => {
    dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'ledger-test')).initialize();
    ledger = new RunLedger(dataSource);
  });
  afterAll(() => dataSource?.destroy());

  it('upserts metric points keyed (run, key, step): a re-delivered epoch rewrites, never duplicates', async () => {
    const run = await newRun();
    await ledger.upsertMetrics(run.id, [{ key: 'train_loss', step: 1, value: 0.9 }, { key: 'train_loss', step: 2, value: 0.5 }]);
    await ledger.upsertMetrics(run.id, [{ key: 'train_loss', step: 2, value: 0.4 }, { key: 'train_loss', step: 3, value: 0.3 }]);
    const rows = await dataSource.getRepository(Metric).find({ where: { runId: run.id }, order: { step: 'ASC' } });
    expect(rows.map((r) => [r.step, r.value])).toEqual([[1, 0.9], [2, 0.4], [3, 0.3]]);
  });

  it('keeps one checkpoint per epoch and returns the newest with its bytes', async () => {
    const run = await newRun();
    await ledger.saveCheckpoint(run.id, 1, Buffer.from([1, 2, 3]), 'a'.repeat(64), 'test');
    await ledger.saveCheckpoint(run.id, 2, Buffer.from([4, 5]), 'b'.repeat(64), 'test');
    await ledger.saveCheckpoint(run.id, 2, Buffer.from([6, 7, 8, 9]), 'c'.repeat(64), 'test');
    expect(await dataSource.getRepository(Checkpoint).countBy({ runId: run.id })).toBe(2);
    const latest = await ledger.latestCheckpoint(run.id);
    expect(latest).toMatchObject({ epoch: 2, sha256: 'c'.repeat(64), sizeBytes: 4 });
    expect([...latest!.data]).toEqual([6, 7, 8, 9]);
    expect(await ledger.latestCheckpoint((await newRun()).id)).toBeNull();
  });

  it('guards transitions: a cancelled or finished run cannot be started or finished again', async () => {
    const run = await newRun();
    expect(await ledger.markRunning(run.id, backend, 1)).toMatchObject({ status: 'running', attempts: 1, backend });
    expect(await ledger.markSucceeded(run.id)).toBe(true);
    expect(await ledger.markFailed(run.id, 'late failure')).toBe(false);
    expect(await ledger.markRunning(run.id, backend, 2)).toBeNull();
    expect(await ledger.find(run.id)).toMatchObject({ status: 'succeeded', error: null, progress: 1 });

    const cancelled = await newRun();
    await dataSource.getRepository(Run).update(cancelled.id, { cancelRequestedAt: new Date() });
    expect(await ledger.isCancelRequested(cancelled.id)).toBe(true);
    expect(await ledger.markRunning(cancelled.id, backend, 1)).toBeNull();
  });

  it('ends a run and rewrites its checkpoint in one step, keeping the checkpoint id; an ended run gets neither', async () => {
    const run = await newRun();
    await ledger.saveCheckpoint(run.id, 0, Buffer.from([1, 2]), 'a'.repeat(64), 'upload');
    const before = (await ledger.checkpointAt(run.id, 0))!;
    await ledger.markRunning(run.id, backend, 1);

    const accepted = { epoch: 0, data: Buffer.from([3, 4, 5]), sha256: 'b'.repeat(64), format: 'accepted' };
    expect(await ledger.markSucceededWithCheckpoint(run.id, accepted, { n: 3 })).toBe(true);
    expect(await ledger.find(run.id)).toMatchObject({ status: 'succeeded', progress: 1, result: { n: 3 } });
    const after = (await ledger.checkpointAt(run.id, 0))!;
    expect(after).toMatchObject({ id: before.id, sha256: 'b'.repeat(64), format: 'accepted', sizeBytes: 3 });
    expect([...after.data]).toEqual([3, 4, 5]);

    const again = { epoch: 0, data: Buffer.from([9]), sha256: 'c'.repeat(64), format: 'late' };
    expect(await ledger.markSucceededWithCheckpoint(run.id, again)).toBe(false);
    expect(await ledger.checkpointAt(run.id, 0)).toMatchObject({ sha256: 'b'.repeat(64), format: 'accepted' });
  });

  it('records a retryable failure as queued-with-reason, then a final one as failed', async () => {
    const run = await newRun();
    await ledger.markRunning(run.id, backend, 1);
    await ledger.markRetrying(run.id, 'attempt 1 of 3 failed: boom');
    expect(await ledger.find(run.id)).toMatchObject({ status: 'queued', error: 'attempt 1 of 3 failed: boom' });
    expect(await ledger.markFailed(run.id, 'boom')).toBe(true);
    const failed = await ledger.find(run.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'boom' });
    expect(failed!.finishedAt).toBeInstanceOf(Date);
  });

  it('refuses rows the schema forbids', async () => {
    await expect(dataSource.query(`INSERT INTO runs (kind, status, spec) VALUES ('train', 'exploded', '{}')`)).rejects.toThrow(/check constraint/);
    const run = await newRun();
    await expect(ledger.upsertMetrics('00000000-0000-4000-8000-000000000000', [{ key: 'x', step: 1, value: 1 }])).rejects.toThrow(/foreign key/);
    await expect(dataSource.query(`UPDATE runs SET progress = 2 WHERE id = $1`, [run.id])).rejects.toThrow(/check constraint/);
  });
});
