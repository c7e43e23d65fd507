import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { EvaluationResultRepository, EvaluationShard, Run, dataSourceOptions } from '../../libs/database/src';
import { EVALUATION_QUEUE, redisConnectionOptions } from '../../libs/queue/src';
import { startTestCluster, TestCluster } from '../support/cluster';
import { ManagedProcess, assertBuilt, killProcessTree, waitFor } from '../support/processes';

jest.setTimeout(300_000);

/** 600 examples in shards of 256: three shard jobs, the last one of 88 examples. */
const SPEC = {
  epsilons: [0, 0.1, 0.2],
  suite: 'quick',
  examples: 600,
  shardSize: 256,
  seed: 3,
  galleryPerEpsilon: 2,
  params: { pgd: { steps: 20 } },
};

/**
 * Sharded evaluations through real processes: the API, two worker processes taking the shard
 * jobs of one evaluation, one of them killed mid-shard, and cancels. Results are compared row by
 * row, bit for bit, with what one shard (a single pass) and one worker give.
 */
describe('sharded evaluations end to end (API + 2 worker processes)', () => {
  let cluster: TestCluster;
  let dataSource: DataSource;
  let results: EvaluationResultRepository;
  let model: string;
  /** Run ids of the reference evaluation (SPEC on two workers) and its stored outcome. */
  let reference: { id: string; outcome: Outcome };

  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const getEvaluation = async (id: string) => (await call('GET', `/evaluations/${id}`)).body;
  const waitForStatus = (id: string, statuses: string[], timeoutMs: number) =>
    waitFor(
      `evaluation ${id} to reach ${statuses.join('/')}`,
      async () => {
        const body = await getEvaluation(id);
        return statuses.includes(body.run.status) && body;
      },
      timeoutMs,
      200,
    );
  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const res = await call('POST', '/evaluations', { runId: model, ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const shardsOf = (id: string): Promise<EvaluationShard[]> => results.shards(id);
  /** Lines in which a worker says it stored a shard of this run. */
  const storedLines = (worker: ManagedProcess, id: string) =>
    worker
      .output()
      .split('\n')
      .filter((l) => l.includes(`run ${id}: shard`) && l.includes(' stored '));

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster(
      'e2e-shards',
      // A killed worker's shard is handed to the other worker within seconds, not BullMQ's default 30 s.
      { CANCEL_POLL_MS: '200', WORKER_LOCK_DURATION_MS: '4000', WORKER_STALLED_INTERVAL_MS: '1000' },
      { workers: 2 },
    );
    dataSource = await new DataSource(dataSourceOptions(cluster.env.DATABASE_URL, 'bulwark-e2e-shards')).initialize();
    results = new EvaluationResultRepository(dataSource);
    const trained = await call('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: 2 });
    expect(trained.status).toBe(201);
    model = trained.body.id;
    await waitFor('the model to train', async () => (await call('GET', `/runs/${model}`)).body.status === 'succeeded', 180_000, 500);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      const logs = cluster.workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output().slice(-6000)}`).join('\n');
      console.log(`--- api ---\n${cluster.api.output().slice(-3000)}\n${logs}`);
    }
  });

  it('spreads the shards over both workers, counts progress in shards, and merges them into the curve', async () => {
    const id = await submit(SPEC);
    const seen: { progress: number; shards: unknown }[] = [];
    const done = await waitFor(
      'the sharded evaluation to end',
      async () => {
        const body = await getEvaluation(id);
        seen.push({ progress: body.run.progress, shards: body.shards });
        return ['succeeded', 'failed', 'cancelled'].includes(body.run.status) && body;
      },
      180_000,
      100,
    );
    expect(done.run.error).toBeNull();
    expect(done.run.status).toBe('succeeded');
    expect(done.shards).toEqual({ done: 3, total: 3 });
    expect(done.curve.map((p: { epsilon: number; n: number }) => [p.epsilon, p.n])).toEqual([
      [0, 600],
      [0.1, 600],
      [0.2, 600],
    ]);
    expect(done.examples.length).toBe(6);

    // Progress is whole shards out of three, and it never goes back.
    const progress = seen.map((s) => s.progress);
    for (const p of progress) expect([0, 1, 2, 3].some((k) => Math.abs(p - k / 3) < 1e-6)).toBe(true);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(
      seen.some(
        (s) => JSON.stringify(s.shards) === JSON.stringify({ done: 1, total: 3 }) || JSON.stringify(s.shards) === JSON.stringify({ done: 2, total: 3 }),
      ),
    ).toBe(true);

    const shards = await shardsOf(id);
    expect(shards.map((s) => [s.view, s.shardIndex, s.start, s.size])).toEqual([
      ['direct', 0, 0, 256],
      ['direct', 1, 256, 256],
      ['direct', 2, 512, 88],
    ]);
    // Both processes computed shards of this one evaluation, and no shard was computed twice.
    const perWorker = cluster.workers.map((w) => storedLines(w, id).length);
    expect(perWorker.every((count) => count >= 1)).toBe(true);
    expect(perWorker[0] + perWorker[1]).toBe(3);
    reference = { id, outcome: outcomeOf(done) };
  });

  it('gives, bit for bit, the numbers, flags and gallery of the same evaluation in one shard (a single pass)', async () => {
    const single = await waitForStatus(await submit({ ...SPEC, shardSize: 768 }), ['succeeded', 'failed'], 180_000);
    expect(single.run.status).toBe('succeeded');
    expect(single.shards).toEqual({ done: 1, total: 1 });
    expect(outcomeOf(single)).toEqual(reference.outcome);
  });

  it('on cancel ends the run cancelled at once, and shards that had not started compute nothing', async () => {
    // Four long shards: two start (one per worker), two wait.
    const id = await submit({ ...SPEC, examples: 1000, epsilons: [0, 0.1, 0.2, 0.3], params: { pgd: { steps: 200 } } });
    const running = (w: ManagedProcess) => w.output().includes(`job ${id}.direct.`);
    await waitFor('both workers to be computing a shard', () => Promise.resolve(cluster.workers.every(running)), 60_000);
    const requestedAt = Date.now();
    expect((await call('POST', `/runs/${id}/cancel`)).status).toBe(202);
    const cancelled = await waitForStatus(id, ['cancelled', 'succeeded', 'failed'], 20_000);
    expect(cancelled.run.status).toBe('cancelled');
    expect(Date.now() - requestedAt).toBeLessThan(10_000);

    // Give the waiting shard jobs and the parent time to be delivered, then look: nothing computed.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await shardsOf(id)).map((s) => s.finishedAt)).toEqual([null, null, null, null]);
    expect(cluster.workers.flatMap((w) => storedLines(w, id))).toEqual([]);
    // Shards 2 and 3 were delivered only to see the cancel: they never reached evaluateShard.
    expect(cluster.workers.some((w) => w.output().includes(`run ${id}: shard 2 of view direct`))).toBe(false);
    expect(cluster.workers.some((w) => w.output().includes(`run ${id}: shard 3 of view direct`))).toBe(false);
    expect((await getEvaluation(id)).run.status).toBe('cancelled');
  });

  it('fails the run, naming the shard, when a shard job fails for good', async () => {
    // A running evaluation and a shard job its spec has no shard for: a configuration error, not retried.
    const spec = (await getEvaluation(reference.id)).run.spec;
    const run = await dataSource.getRepository(Run).save({ kind: 'evaluation', status: 'running', spec, parentRunId: model });
    const queue = new Queue(EVALUATION_QUEUE, { connection: redisConnectionOptions(cluster.env.REDIS_URL), prefix: cluster.env.QUEUE_PREFIX });
    try {
      await queue.add('evaluation-shard', { runId: run.id, view: 'direct', index: 7 }, { jobId: `${run.id}.direct.7`, attempts: 3 });
      const failed = await waitForStatus(run.id, ['failed', 'succeeded', 'cancelled'], 30_000);
      expect(failed.run.status).toBe('failed');
      expect(failed.run.error).toBe(`shard 7 of view direct failed after 1 attempt(s): run ${run.id} has no shard 7 of view direct (it has 3 shard(s))`);
    } finally {
      await queue.close();
    }
  });

  it('survives a worker killed mid-shard: finished shards are not computed again and the numbers do not change', async () => {
    // Four shards: when the first is stored, its worker takes the third while the other is still on its first.
    const spec = { ...SPEC, examples: 1000, params: { pgd: { steps: 60 } } };
    const id = await submit(spec);
    await waitFor('a first shard to be stored', async () => (await shardsOf(id)).filter((s) => s.finishedAt !== null).length >= 1, 120_000, 100);
    const before = (await shardsOf(id)).filter((s) => s.finishedAt !== null);
    expect(before.length).toBeLessThan(4);

    const victim = cluster.workers[1];
    killProcessTree(victim.child.pid!);
    await victim.exited;
    const run = await waitForStatus(id, ['succeeded', 'failed', 'cancelled'], 180_000);
    expect(run.run.error).toBeNull();
    expect(run.run.status).toBe('succeeded');

    const after = await shardsOf(id);
    for (const shard of before) {
      const same = after.find((s) => s.shardIndex === shard.shardIndex);
      expect(same?.finishedAt?.getTime()).toBe(shard.finishedAt?.getTime());
    }
    // Each shard stored once, across the survivor and the killed worker's last words; the killed one's shard was handed over.
    expect(cluster.workers.flatMap((w) => storedLines(w, id))).toHaveLength(4);
    expect(cluster.workers[0].output()).toMatch(new RegExp(`job ${id}\\.direct\\.\\d stalled; it will be re-delivered`));

    const single = await waitForStatus(await submit({ ...spec, shardSize: 1024 }), ['succeeded', 'failed'], 180_000);
    expect(single.shards).toEqual({ done: 1, total: 1 });
    expect(outcomeOf(run)).toEqual(outcomeOf(single));
  });

  it('gives the same numbers with the one worker left', async () => {
    expect(cluster.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)).toHaveLength(1);
    const again = await waitForStatus(await submit(SPEC), ['succeeded', 'failed'], 180_000);
    expect(again.run.status).toBe('succeeded');
    expect(outcomeOf(again)).toEqual(reference.outcome);
  });
});

interface Outcome {
  rows: unknown[];
  gallery: unknown[];
  flags: unknown;
  curve: unknown;
}

/** What an evaluation measured, without timings, ids and timestamps. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, as in the other e2e tests
function outcomeOf(body: any): Outcome {
  return {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    rows: body.results.map(({ seconds, recordedAt, runId, ...row }: Record<string, unknown>) => row),
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    gallery: body.examples.map(({ id, runId, ...example }: Record<string, unknown>) => example),
    flags: body.flags,
    curve: body.curve,
  };
}
