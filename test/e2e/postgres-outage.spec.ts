import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, waitFor } from '../support/processes';
import { ScratchDatabase, createScratchDatabase } from '../support/scratch-database';
import { TcpProxy, startTcpProxy } from '../support/tcp-proxy';

jest.setTimeout(600_000);

/** Long enough to spend every attempt of the run's job (1 s, then 2 s of backoff) while Postgres is away. */
const OUTAGE_MS = 20_000;

/**
 * Postgres goes away in the middle of a run, for longer than the job's retries last, and comes
 * back: the API and the worker reach it through a TCP proxy the test cuts (the machine's Postgres
 * stays up for everyone else). The job's last attempt fails while its failure cannot be recorded;
 * the run must not stay `running` for good: the reconciler resumes it from its newest checkpoint,
 * and it ends as an undisturbed run of the same spec ends. The cluster has a database of its
 * own, since its reconciler takes every unfinished run of its database for its business.
 */
describe('a Postgres outage mid-run, end to end (API + worker through a proxy to Postgres)', () => {
  let database: ScratchDatabase;
  let proxy: TcpProxy;
  let cluster: TestCluster;
  const finished = (id: string, timeoutMs: number) => cluster.runEnded(id, timeoutMs);
  const checkpoints = async (id: string) => (await cluster.call('GET', `/runs/${id}/checkpoints`)).body.items as { epoch: number; sha256: string }[];
  const trainLoss = async (id: string) =>
    ((await cluster.call('GET', `/runs/${id}/metrics?key=train_loss`)).body.items as { step: number; value: number }[]).map((p) => [p.step, p.value]);

  beforeAll(async () => {
    assertBuilt();
    database = await createScratchDatabase('pgoutage');
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    cluster = await startTestCluster('e2e-pgoutage', {
      DATABASE_URL: viaProxy.toString(),
      // What the issue saw: three attempts spent within seconds of the outage.
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '1000',
      JOB_BACKOFF_MAX_MS: '2000',
      RECONCILE_INTERVAL_MS: '2000',
      RECONCILE_GRACE_MS: '3000',
    });
  });

  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await cluster?.stop();
    await proxy?.close();
    await database?.drop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-3000)}`);
      cluster.workers.forEach((w, i) => console.log(`--- worker ${i + 1} ---\n${w.output().slice(-8000)}`));
    }
  });

  const spec = { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 4, batchSize: 64, seed: 43 };

  it('resumes a run whose attempts all failed during the outage, ending as an undisturbed run ends', async () => {
    const reference = (await cluster.call('POST', '/runs', spec)).body;
    expect(await finished(reference.id as string, 300_000)).toMatchObject({ status: 'succeeded' });

    const submitted = await cluster.call('POST', '/runs', spec);
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    await waitFor('checkpoint 1', async () => (await checkpoints(id)).some((c) => c.epoch === 1), 300_000, 200);

    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await proxy.restore();

    const run = await finished(id, 180_000);
    expect(run).toMatchObject({ status: 'succeeded', error: null, retry: null });
    const workerLog = cluster.workers.map((w) => w.output()).join('\n');
    // The job's attempts were spent during the outage; the reconciler, not luck, moved the run on.
    expect(workerLog.match(new RegExp(`could not record the failure of run ${id}: connect ECONNREFUSED`, 'g'))).toHaveLength(3);
    expect(workerLog).toMatch(new RegExp(`run ${id} \\(running, job failed\\): its job failed on an outage`));

    const [mine, theirs] = [await checkpoints(id), await checkpoints(reference.id as string)];
    expect(mine.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
    expect(mine.map((c) => c.sha256)).toEqual(theirs.map((c) => c.sha256));
    expect(await trainLoss(id)).toEqual(await trainLoss(reference.id as string));
  });
});
