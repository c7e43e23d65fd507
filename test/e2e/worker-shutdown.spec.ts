import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, waitFor } from '../support/processes';

jest.setTimeout(180_000);

/** A worker stopped in the middle of a job: its own cluster, since the test ends its worker. */
describe('worker shutdown end to end (API + worker processes)', () => {
  let cluster: TestCluster;
  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const getRun = async (id: string) => (await call('GET', `/runs/${id}`)).body;

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e-shutdown', { WORKER_SHUTDOWN_GRACE_MS: '2000' });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-8000)}`);
    }
  });

  it('on SIGTERM stops a job still running after the grace period, exits, and leaves the run to resume', async () => {
    const submitted = (await call('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 20, batchSize: 32, seed: 5 })).body;
    await waitFor('the run to make progress', async () => (await getRun(submitted.id)).progress > 0, 120_000);
    const children = [...cluster.worker.output().matchAll(/\[worker child (\d+)\] ready/g)].map((m) => Number(m[1]));

    const signalledAt = Date.now();
    const code = await cluster.worker.stop(30_000);
    expect(code).toBe(0);
    // The grace (2 s) and the child's exit, not the job's remaining epochs nor BullMQ's 30 s kill timeout.
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    expect(cluster.worker.output()).toMatch(
      /SIGTERM received, shutting down[\s\S]*no new jobs[\s\S]*did not finish in time; stopping their child processes[\s\S]*worker closed/,
    );
    for (const pid of new Set(children)) expect(() => process.kill(pid, 0)).toThrow();

    // Handed back, not failed for good: the next worker resumes it from its checkpoint.
    const run = await getRun(submitted.id);
    expect(run.status).not.toBe('failed');
    expect(run.progress).toBeLessThan(1);
    await call('POST', `/runs/${submitted.id}/cancel`);
  });
});
