import { join } from 'node:path';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, freePort, ManagedProcess, startProcess, waitFor } from '../support/processes';

jest.setTimeout(180_000);

const BOARD_MAIN = join(__dirname, '..', '..', 'dist/scripts/queue-board.js');

interface BoardQueue {
  name: string;
  readOnlyMode: boolean;
  counts: Record<string, number>;
  jobs: Array<{ id: string; name: string; data: { runId?: string } }>;
}

/**
 * `npm run board` (bull-board, read-only, for operators) against a real cluster's queues: it
 * lists every queue under the cluster's prefix with the jobs a worker ran, and refuses changes.
 */
describe('the queue board (bull-board over the cluster, from dist/)', () => {
  let cluster: TestCluster;
  let board: ManagedProcess;
  let base: string;

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e-board');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    board = startProcess(BOARD_MAIN, { REDIS_URL: cluster.env.REDIS_URL, QUEUE_PREFIX: cluster.env.QUEUE_PREFIX, BOARD_PORT: String(port) });
    await waitFor('the board to listen', async () => (await fetch(`${base}/`)).ok, 30_000);
  });

  afterAll(async () => {
    await board?.stop();
    await cluster?.stop();
  });

  it("lists the cluster's queues and the job of a run it trained, read-only", async () => {
    const submitted = await cluster.call('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 256, seed: 3 });
    expect(submitted.status).toBe(201);
    expect((await cluster.runEnded(submitted.body.id, 120_000)).status).toBe('succeeded');

    const page = await fetch(`${base}/`);
    expect(await page.text()).toContain(`<title>Bulwark queues (${cluster.env.QUEUE_PREFIX})</title>`);
    const answer = await fetch(`${base}/api/queues?activeQueue=training&status=completed&page=1`);
    expect(answer.status).toBe(200);
    const { queues } = (await answer.json()) as { queues: BoardQueue[] };
    expect(queues.map((q) => q.name)).toEqual(['training', 'evaluation', 'gradients', 'training-gpu', 'evaluation-gpu', 'gradients-gpu']);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
    const training = queues.find((q) => q.name === 'training')!;
    expect(training.counts.completed).toBeGreaterThanOrEqual(1);
    expect(training.jobs.map((job) => job.data.runId)).toContain(submitted.body.id);

    // Read-only: cleaning or retrying by hand would bypass the runs' bookkeeping.
    expect((await fetch(`${base}/api/queues/training/clean/completed`, { method: 'PUT' })).status).toBe(405);
    expect((await fetch(`${base}/api/queues/training/retry/failed`, { method: 'PUT' })).status).toBe(405);
    expect((await cluster.call('GET', `/runs/${submitted.body.id}`)).body.status).toBe('succeeded');
  });

  it('stops on SIGTERM, and refuses a bad port naming the variable', async () => {
    expect(await board.stop()).toBe(0);
    const bad = startProcess(BOARD_MAIN, { REDIS_URL: cluster.env.REDIS_URL, BOARD_PORT: '70000' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('BOARD_PORT must be an integer in [1, 65535] (got "70000")');
  });
});
