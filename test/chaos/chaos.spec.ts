import { createHash } from 'node:crypto';
import { stripVTControlCharacters } from 'node:util';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, killProcessGroup, waitFor } from '../support/processes';
import { PrivatePostgres, PrivateRedis, startPrivatePostgres, startPrivateRedis } from '../support/private-services';
import { TimedAnswer, timedCall } from '../support/timed-http';

jest.setTimeout(600_000);

/** The bound on an answer while a store is down. */
const FAST_MS = 1000;
/** One small MLP run, the same for every run here, so every result must equal the undisturbed one to the bit. */
const SPEC = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 4, batchSize: 16, seed: 7 };
const KILLED_RUNS = 5;
const KILLS_PER_RUN = 2;
const POSTGRES_OUTAGE_MS = 30_000;
const REDIS_OUTAGE_MS = 10_000;
/** Metrics that measure the machine (time, memory), not the model: they differ between any two runs. */
const MEASUREMENTS = new Set(['epoch_seconds', 'epoch_cpu_seconds', 'peak_rss_mib']);

interface Metric {
  key: string;
  step: number;
  value: number;
}
interface Checkpoint {
  id: string;
  epoch: number;
  sha256: string;
}
/** What a run left: its status, metrics and checkpoints, and the bytes of its final checkpoint. */
interface Outcome {
  status: string;
  error: string | null;
  metrics: Metric[];
  checkpoints: Checkpoint[];
  finalSha256: string;
}

/** The figures the suite prints in one line, for the note. */
const figures = { runs: 0, kills: 0, postgresOutageMs: 0, redisOutageMs: 0, outageAnswers: 0, slowestOutageAnswerMs: 0, metricPoints: 0, checkpoints: 0 };

/**
 * The chaos suite: an API and a worker from dist/ against a Redis (append-only file on)
 * and a Postgres of the suite's own, while the test SIGKILLs the worker's process group, stops
 * Postgres and kill -9s Redis mid-run. Every run must end (succeeded here: each outage is one
 * the system is meant to ride out), with every metric step and checkpoint exactly once and a
 * final checkpoint bit-identical to an undisturbed run's; during an outage the API answers
 * within a second, 503 naming the store that is down.
 */
describe('chaos: worker kills and store outages mid-run', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let cluster: TestCluster;
  let reference: Outcome;

  const call = (method: string, path: string, body?: unknown) => timedCall(cluster.base, method, path, body, cluster.auth);
  const currentWorker = () => cluster.workers[cluster.workers.length - 1];
  const submit = async (): Promise<string> => {
    const answer = await call('POST', '/runs', SPEC);
    expect(answer.status).toBe(201);
    figures.runs++;
    return answer.body.id as string;
  };
  const checkpointsOf = async (id: string): Promise<Checkpoint[]> => {
    const answer = await call('GET', `/runs/${id}/checkpoints`);
    return answer.status === 200 ? (answer.body.items as Checkpoint[]) : [];
  };
  /** Waits for the run to end (or for `timeoutMs`: a run still queued or running then is stuck) and reads what it left. */
  const outcomeOf = async (id: string, timeoutMs: number): Promise<Outcome> => {
    const run = await waitFor(
      `run ${id} to end`,
      async () => {
        const answer = await call('GET', `/runs/${id}`);
        return answer.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(answer.body.status as string) && answer.body;
      },
      timeoutMs,
      500,
    );
    const metrics = (await call('GET', `/runs/${id}/metrics`)).body.items as Metric[];
    const checkpoints = await checkpointsOf(id);
    const last = checkpoints[checkpoints.length - 1];
    const bytes = last
      ? Buffer.from(await (await fetch(`${cluster.base}/runs/${id}/checkpoints/${last.id}`, { headers: cluster.auth })).arrayBuffer())
      : Buffer.alloc(0);
    return { status: run.status, error: run.error, metrics, checkpoints, finalSha256: createHash('sha256').update(bytes).digest('hex') };
  };
  /** Succeeded, each metric step and checkpoint once, and equal to the undisturbed run to the bit. */
  const expectAsUndisturbed = (outcome: Outcome) => {
    expect({ status: outcome.status, error: outcome.error }).toEqual({ status: 'succeeded', error: null });
    const steps = new Map<string, number[]>();
    for (const m of outcome.metrics) steps.set(m.key, [...(steps.get(m.key) ?? []), m.step]);
    for (const [key, seen] of steps) expect({ key, steps: seen }).toEqual({ key, steps: Array.from({ length: SPEC.epochs }, (_, i) => i + 1) });
    expect(outcome.checkpoints.map((c) => c.epoch)).toEqual(Array.from({ length: SPEC.epochs }, (_, i) => i + 1));
    const results = (metrics: Metric[]) => metrics.filter((m) => !MEASUREMENTS.has(m.key)).map(({ key, step, value }) => ({ key, step, value }));
    expect(results(outcome.metrics)).toEqual(results(reference.metrics));
    expect(outcome.finalSha256).toBe(reference.finalSha256);
    expect(outcome.checkpoints[outcome.checkpoints.length - 1].sha256).toBe(reference.finalSha256);
    figures.metricPoints += outcome.metrics.length;
    figures.checkpoints += outcome.checkpoints.length;
  };
  /** Outage answers: each within a second, and 503 naming `store` where `expected` says so. */
  const expectFast = (answer: TimedAnswer, expected: { status: number; store?: string }) => {
    expect({ status: answer.status, message: expected.store ? answer.body?.message : undefined }).toEqual({
      status: expected.status,
      message: expected.store ? `${expected.store} is unavailable` : undefined,
    });
    expect(answer.ms).toBeLessThan(FAST_MS);
    figures.outageAnswers++;
    figures.slowestOutageAnswerMs = Math.max(figures.slowestOutageAnswerMs, Math.round(answer.ms));
  };

  beforeAll(async () => {
    assertBuilt();
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis({ appendonly: true })]);
    process.env.QUEUE_PREFIX ??= 'bulwark-chaos';
    cluster = await startTestCluster(
      'chaos',
      {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        // A killed worker's job is handed on within seconds, not BullMQ's 30 s.
        WORKER_LOCK_DURATION_MS: '4000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        JOB_BACKOFF_MS: '1000',
        // The suite polls and submits faster than a person would; the limits are not what it tests.
        RATE_LIMIT_SUBMITS: '10000',
        RATE_LIMIT_HEAVY_READS: '10000',
        // Stranded runs are found within seconds of an outage's end, not the default minute.
        RECONCILE_INTERVAL_MS: '3000',
        RECONCILE_GRACE_MS: '5000',
      },
      { workerProcessGroups: true },
    );
    reference = await outcomeOf(await submit(), 240_000);
    expect(reference.status).toBe('succeeded');
    // What the runs are compared on: the model's results, not only the machine's measurements.
    expect(reference.metrics.filter((m) => !MEASUREMENTS.has(m.key)).length).toBeGreaterThanOrEqual(3 * SPEC.epochs);
  });

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all([pg?.destroy(), redis?.destroy()]);
    console.log(
      `chaos figures: ${figures.runs} runs (1 undisturbed); ${figures.kills} SIGKILLs of the worker's process group across ${KILLED_RUNS} runs; ` +
        `postgres stopped ${figures.postgresOutageMs / 1000} s and redis kill -9ed for ${figures.redisOutageMs / 1000} s mid-run; ` +
        `${figures.metricPoints} metric points and ${figures.checkpoints} checkpoints checked exactly once and bit-identical; ` +
        `${figures.outageAnswers} API answers during outages, slowest ${figures.slowestOutageAnswerMs} ms`,
    );
  });

  beforeEach(async () => {
    // A test that failed mid-kill may have left no worker running; every test needs one.
    const worker = currentWorker();
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) await cluster.startWorker();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      const workers = cluster.workers.map(
        (w, i) => `--- worker ${i + 1} ---\n${stripVTControlCharacters(w.output()).slice(i === cluster.workers.length - 1 ? -8000 : -1500)}`,
      );
      console.log(`--- api ---\n${cluster.api.output().slice(-3000)}\n${workers.join('\n')}`);
    }
  });

  it(`resumes every run after ${KILLED_RUNS * KILLS_PER_RUN} SIGKILLs of the worker, as if never killed`, async () => {
    // One run at a time: a worker started after a kill takes whatever job waits, so with several
    // queued the killed one would come back behind the others, and a kill could miss its run.
    for (let run = 0; run < KILLED_RUNS; run++) {
      const id = await submit();
      // Each kill lands after a checkpoint the previous one did not see: the run makes progress between crashes.
      for (let kill = 1; kill <= KILLS_PER_RUN; kill++) {
        await waitFor(`run ${id} to write checkpoint ${kill}`, async () => (await checkpointsOf(id)).length >= kill, 240_000, 100);
        killProcessGroup(currentWorker().child.pid!);
        // Mid-run: epochs were left to train when the worker died.
        expect((await checkpointsOf(id)).length).toBeLessThan(SPEC.epochs);
        await currentWorker().exited;
        figures.kills++;
        await cluster.startWorker();
      }
      expectAsUndisturbed(await outcomeOf(id, 240_000));
    }
    expect(figures.kills).toBeGreaterThanOrEqual(10);
  });

  it(`rides out Postgres stopped for ${POSTGRES_OUTAGE_MS / 1000} s mid-run`, async () => {
    const id = await submit();
    await waitFor('the first checkpoint', async () => (await checkpointsOf(id)).length >= 1, 240_000, 200);
    await pg.stop();
    const stopped = Date.now();
    try {
      while (Date.now() - stopped < POSTGRES_OUTAGE_MS) {
        expectFast(await call('GET', '/health'), { status: 503, store: 'postgres' });
        expectFast(await call('GET', `/runs/${id}`), { status: 503, store: 'postgres' });
        expectFast(await call('POST', '/runs', SPEC), { status: 503, store: 'postgres' });
        await new Promise((r) => setTimeout(r, 3000));
      }
    } finally {
      await pg.start();
      figures.postgresOutageMs = Date.now() - stopped;
    }
    expectAsUndisturbed(await outcomeOf(id, 300_000));
  });

  it(`rides out Redis kill -9ed for ${REDIS_OUTAGE_MS / 1000} s mid-run and restarted from its append-only file`, async () => {
    const id = await submit();
    await waitFor('the first checkpoint', async () => (await checkpointsOf(id)).length >= 1, 240_000, 200);
    await redis.kill();
    const killed = Date.now();
    try {
      while (Date.now() - killed < REDIS_OUTAGE_MS) {
        expectFast(await call('GET', '/health'), { status: 503, store: 'redis' });
        expectFast(await call('POST', '/runs', SPEC), { status: 503, store: 'redis' });
        // Postgres alone answers a read.
        expectFast(await call('GET', `/runs/${id}`), { status: 200 });
        await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      await redis.start();
      figures.redisOutageMs = Date.now() - killed;
    }
    expectAsUndisturbed(await outcomeOf(id, 300_000));
  });
});
