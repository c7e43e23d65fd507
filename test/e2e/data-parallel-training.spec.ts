import { Queue } from 'bullmq';
import { GRADIENT_QUEUE, redisConnectionOptions } from '../../libs/queue/src';
import { startTestCluster, TestCluster } from '../support/cluster';
import { ManagedProcess, assertBuilt, descendants, killProcessTree, waitFor } from '../support/processes';

jest.setTimeout(600_000);

/**
 * Data-parallel training through real processes: one trainer, gradient shards on whichever
 * worker takes them. The checkpoint must not depend on how many workers computed the shards,
 * nor on a worker's job process dying mid-shard.
 */
describe('data-parallel training end to end (API + 1, 2 and 4 worker processes)', () => {
  let cluster: TestCluster;

  const spec = {
    kind: 'adversarial-training',
    dataset: 'mnist',
    model: 'mlp',
    attack: { name: 'fgsm', epsilon: 0.1 },
    // Shards of 125 examples with PGD-8: long enough (about half a second) to be killed mid-shard.
    method: { name: 'pgd', steps: 8 },
    epochs: 1,
    batchSize: 500,
    seed: 3,
    dataParallel: { shards: 4 },
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from the API
  const getRun = async (id: string): Promise<any> => (await cluster.call('GET', `/runs/${id}`)).body;
  const finished = (id: string) => cluster.runEnded(id, 300_000);

  /** Trains `spec` to the end; returns the sha256 of its final checkpoint (weights, Adam state, RNG). */
  async function train(onRunning?: (runId: string) => Promise<void>): Promise<{ sha256: string; runId: string }> {
    const submitted = await cluster.call('POST', '/runs', spec);
    expect(submitted.status).toBe(201);
    const runId = submitted.body.id as string;
    await onRunning?.(runId);
    const run = await finished(runId);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const checkpoints = (await cluster.call('GET', `/runs/${runId}/checkpoints`)).body.items as { epoch: number; sha256: string }[];
    expect(checkpoints.map((c) => c.epoch)).toEqual([1]);
    return { sha256: checkpoints[0].sha256, runId };
  }

  const shardStarts = (workers: ManagedProcess[]) => workers.map((w) => (w.output().match(/\(gradient-shard\) started/g) ?? []).length);

  beforeAll(async () => {
    assertBuilt();
    // A dead worker's shard is handed on within seconds, not BullMQ's default 30 s.
    cluster = await startTestCluster('e2e-dp', { WORKER_LOCK_DURATION_MS: '4000', WORKER_STALLED_INTERVAL_MS: '1000' }, { workers: 1 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      cluster.workers.forEach((w, i) => console.log(`--- worker ${i + 1} ---\n${w.output().slice(-6000)}`));
    }
  });

  let reference: string;

  it('trains with one worker process, recording what the exchange cost', async () => {
    const { sha256, runId } = await train();
    reference = sha256;
    const metrics = (await cluster.call('GET', `/runs/${runId}/metrics`)).body.items as { key: string; value: number }[];
    const metric = (key: string) => metrics.find((m) => m.key === key)?.value;
    // 8,000 training digits in minibatches of 500: 16 steps of 4 shards, weights (1 MB) out and gradients back every time.
    expect(metric('dp_step_seconds')).toBeGreaterThan(0);
    expect(metric('dp_shard_compute_seconds')).toBeGreaterThan(0);
    expect(metric('dp_bytes_per_step')).toBeGreaterThan(4 * 2 * 1_000_000);
    expect(metric('test_clean_accuracy')).toBeGreaterThan(0.3);
  });

  it('ends bit-identical with 2 and with 4 worker processes, which all compute shards', async () => {
    await cluster.startWorker();
    const before = shardStarts(cluster.workers);
    expect((await train()).sha256).toBe(reference);
    const during = shardStarts(cluster.workers).map((n, i) => n - before[i]);
    expect(during.every((n) => n > 0)).toBe(true);

    await cluster.startWorker();
    await cluster.startWorker();
    const before4 = shardStarts(cluster.workers);
    expect((await train()).sha256).toBe(reference);
    const during4 = shardStarts(cluster.workers).map((n, i) => n - before4[i]);
    expect(during4.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
  });

  it('ends bit-identical when a worker is killed mid-step: its shard is redone elsewhere', async () => {
    const queue = new Queue(GRADIENT_QUEUE, { connection: redisConnectionOptions(cluster.env.REDIS_URL), prefix: cluster.env.QUEUE_PREFIX });
    let killedJob: string | undefined;
    try {
      const { sha256 } = await train(async (runId) => {
        await waitFor('the run to be under way', async () => ((await getRun(runId)).progress as number) > 0.1, 120_000, 100);
        const trainer = cluster.workers.find((w) => w.output().includes(`job ${runId} (adversarial-training) started`));
        // kill -9 a worker that only runs shards, with its job processes, while it holds an active
        // shard (a crashed machine, mid-step), then start a replacement. It is frozen first, so the
        // shard cannot finish between the check and the kill.
        killedJob = await waitFor(
          'a shard worker to be killed mid-shard',
          async () => {
            for (const job of await queue.getActive()) {
              const victim = cluster.workers.find((w) => w !== trainer && w.child.exitCode === null && job.processedBy?.endsWith(`:${w.child.pid!}`));
              if (!victim) continue;
              const tree = [victim.child.pid!, ...descendants(victim.child.pid!)];
              tree.forEach((pid) => process.kill(pid, 'SIGSTOP'));
              if ((await queue.getJobState(job.id!)) === 'active') {
                killProcessTree(victim.child.pid!);
                return job.id;
              }
              tree.forEach((pid) => process.kill(pid, 'SIGCONT'));
            }
            return undefined;
          },
          60_000,
          10,
        );
        await cluster.startWorker();
      });
      expect(sha256).toBe(reference);
      expect(killedJob).toBeDefined();
      // Re-delivered once its lock expired, and computed by another worker.
      expect(cluster.workers.some((w) => w.output().includes(`job ${killedJob!} stalled; it will be re-delivered`))).toBe(true);
      expect(await queue.getJobState(killedJob!)).toBe('completed');
    } finally {
      await queue.close();
    }
  });
});
