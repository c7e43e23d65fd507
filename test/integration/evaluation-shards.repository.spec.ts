import { DataSource } from 'typeorm';
import { EvaluationResultRepository, Run, RunRepository, dataSourceOptions } from '../../libs/database/src';
import type { RunSpec } from '../../libs/spec/src';

const backend = { name: 'wasm', tfjsVersion: '4.22.0', threads: 1 };
const planned = (count: number) => Array.from({ length: count }, (_, i) => ({ view: 'direct' as const, shardIndex: i, start: i * 256, size: 256 }));
const finished = (shardIndex: number, result: unknown = { start: shardIndex * 256 }) => ({
  view: 'direct' as const,
  shardIndex,
  result,
  seconds: 1.5,
  backend,
});

describe('EvaluationResultRepository shards (real Postgres)', () => {
  let dataSource: DataSource;
  let results: EvaluationResultRepository;
  let runs: RunRepository;
  const runningRun = async () => {
    const run = await dataSource.getRepository(Run).save({ kind: 'evaluation', status: 'queued', spec: { kind: 'evaluation' } as RunSpec });
    await runs.markRunning(run.id, backend, 1);
    return run;
  };

  beforeAll(async () => {
    dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'evaluation-shards-test')).initialize();
    results = new EvaluationResultRepository(dataSource);
    runs = new RunRepository(dataSource);
  });
  afterAll(() => dataSource?.destroy());

  it('plans shards once, stores each result once (the first), and sets progress to the shards finished', async () => {
    const run = await runningRun();
    await results.planShards(run.id, planned(4));
    expect(await results.shardCounts([run.id])).toEqual(new Map([[run.id, { done: 0, total: 4 }]]));
    expect(await results.isShardStored(run.id, 'direct', 1)).toBe(false);

    expect(await results.saveShard(run.id, finished(1, { first: true }))).toBe(true);
    expect((await runs.find(run.id))?.progress).toBeCloseTo(0.25);
    expect(await results.saveShard(run.id, finished(1, { first: false }))).toBe(false);
    expect(await results.saveShard(run.id, finished(0), 0.5)).toBe(true);
    expect((await runs.find(run.id))?.progress).toBeCloseTo(0.25);
    // A re-delivered parent plans again: what is stored stays.
    await results.planShards(run.id, planned(4));

    expect(await results.isShardStored(run.id, 'direct', 1)).toBe(true);
    expect(await results.isShardStored(run.id, 'naive', 1)).toBe(false);
    const stored = await results.shardResults(run.id, 'direct');
    expect(stored.map((s) => [s.shardIndex, s.start, s.result])).toEqual([
      [0, 0, { start: 0 }],
      [1, 256, { first: true }],
    ]);
    expect(stored[0].backend).toEqual(backend);
    const listed = await results.shards(run.id);
    expect(listed.map((s) => [s.shardIndex, s.finishedAt !== null])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(listed[0].result).toBeUndefined();
    expect(await results.shardCounts([run.id])).toEqual(new Map([[run.id, { done: 2, total: 4 }]]));
  });

  it('refuses the result of a shard that was never planned', async () => {
    const run = await runningRun();
    expect(await results.saveShard(run.id, finished(0))).toBe(false);
    expect(await results.shards(run.id)).toEqual([]);
  });

  it('counts concurrent shards of one run: the last progress written is all of them', async () => {
    const run = await runningRun();
    await results.planShards(run.id, planned(8));
    const stored = await Promise.all(Array.from({ length: 8 }, (_, i) => results.saveShard(run.id, finished(i))));
    expect(stored).toEqual(Array(8).fill(true));
    expect((await runs.find(run.id))?.progress).toBe(1);
  });

  it('leaves the progress of a run that has ended alone', async () => {
    const run = await runningRun();
    await results.planShards(run.id, planned(2));
    await runs.markCancelled(run.id);
    await results.saveShard(run.id, finished(0));
    expect((await runs.find(run.id))?.progress).toBe(0);
  });
});
