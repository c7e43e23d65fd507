import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, killProcessTree, waitFor } from '../support/processes';

jest.setTimeout(900_000);

interface MetricPoint {
  key: string;
  step: number;
  value: number;
}

/**
 * Workers killed with SIGKILL (the worker and its job processes, as a lost machine) in the middle
 * of runs. A run that checkpoints between crashes survives any number of them and ends as an
 * undisturbed run of the same spec ends, bit for bit; a run that crashes again and again without
 * progress fails on its crash budget, saying so. BullMQ's own stalled limit (which failed a run on
 * its third crash, whatever its checkpoints) must play no part.
 */
describe('worker crashes end to end (API + worker processes, SIGKILL)', () => {
  let cluster: TestCluster;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from the API
  const getRun = async (id: string): Promise<any> => (await cluster.call('GET', `/runs/${id}`)).body;
  const finished = (id: string) => cluster.runEnded(id, 600_000);
  const checkpoints = async (id: string) => (await cluster.call('GET', `/runs/${id}/checkpoints`)).body.items as { epoch: number; sha256: string }[];
  const metrics = async (id: string) => (await cluster.call('GET', `/runs/${id}/metrics`)).body.items as MetricPoint[];

  /** SIGKILLs the newest worker's process tree, then starts a fresh worker that will find the stalled job. */
  async function crashWorker(): Promise<void> {
    const worker = cluster.workers[cluster.workers.length - 1];
    killProcessTree(worker.child.pid!);
    await worker.exited;
    await cluster.startWorker();
  }

  beforeAll(async () => {
    assertBuilt();
    // A dead worker's job is handed on within seconds; a budget of one crash without progress.
    cluster = await startTestCluster('e2e-crash', { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', CRASH_BUDGET: '1' });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-3000)}`);
      cluster.workers.forEach((w, i) => console.log(`--- worker ${i + 1} ---\n${w.output().slice(-5000)}`));
    }
  });

  const spec = { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 4, batchSize: 64, seed: 41 };

  it('survives a crash after every checkpoint (3 of them, past BullMQ’s old limit of 2) and ends bit-identical to an undisturbed run', async () => {
    const reference = (await cluster.call('POST', '/runs', spec)).body;
    expect(await finished(reference.id as string)).toMatchObject({ status: 'succeeded', attempts: 1 });

    const disturbed = await cluster.call('POST', '/runs', spec);
    expect(disturbed.status).toBe(201);
    const id = disturbed.body.id as string;
    for (const epoch of [1, 2, 3]) {
      await waitFor(`checkpoint ${epoch}`, async () => (await checkpoints(id)).some((c) => c.epoch === epoch), 300_000, 200);
      await crashWorker();
    }
    const run = await finished(id);
    expect(run).toMatchObject({ status: 'succeeded', error: null, crashes: 0, retry: null });
    // One delivery per crash, plus the first: BullMQ's attemptsMade alone would still read 1.
    expect(run.attempts).toBe(4);

    // Every checkpoint once, the final one the reference's bytes; every metric step once, the same values.
    const [mine, theirs] = [await checkpoints(id), await checkpoints(reference.id as string)];
    expect(mine.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
    expect(mine.map((c) => c.sha256)).toEqual(theirs.map((c) => c.sha256));
    const deterministic = (points: MetricPoint[]) =>
      points.filter((p) => ['train_loss', 'test_clean_accuracy', 'test_fgsm_accuracy', 'test_examples'].includes(p.key)).map((p) => [p.key, p.step, p.value]);
    const points = await metrics(id);
    expect(points.filter((p) => p.key === 'train_loss').map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(deterministic(points)).toEqual(deterministic(await metrics(reference.id as string)));
    expect(deterministic(points)).toHaveLength(16);
    const log = cluster.workers.map((w) => w.output()).join('\n');
    expect(log).not.toMatch(/stalled more than allowable limit/);
    expect(log).toMatch(new RegExp(`run ${id}: resuming after epoch 3`));
  });

  it('fails a run that crashes its worker again without progress, naming the crash budget', async () => {
    // PGD adversarial training over the whole training set: minutes before its first checkpoint.
    const slow = { ...spec, kind: 'adversarial-training', method: { name: 'pgd', steps: 100 }, epochs: 1, batchSize: 32, seed: 42 };
    const submitted = await cluster.call('POST', '/runs', slow);
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    await waitFor('the run to start', async () => (await getRun(id)).progress > 0, 120_000, 200);
    await crashWorker();
    // Re-delivered: one crash without progress, within the budget of one.
    await waitFor(
      'the run to be re-delivered',
      async () => {
        const run = await getRun(id);
        return run.status === 'running' && run.attempts === 2 && run;
      },
      120_000,
      200,
    );
    expect(await getRun(id)).toMatchObject({ crashes: 1 });
    await crashWorker();
    const run = await finished(id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('its worker crashed 2 times in a row without writing a checkpoint, more than its crash budget allows (CRASH_BUDGET=1)');
    expect(await checkpoints(id)).toEqual([]);
  });
});
