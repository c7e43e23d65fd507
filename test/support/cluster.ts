import { createTestKeyAt } from './api-keys';
import { API_MAIN, ManagedProcess, WORKER_MAIN, freePort, startProcess, waitFor } from './processes';
import { TEST_RATE_LIMITS, uniqueQueuePrefix } from './test-config';
import { RunStatus, TERMINAL_STATUSES } from '../../libs/database/src';

export interface TestCluster {
  api: ManagedProcess;
  /** The first of `workers`. */
  worker: ManagedProcess;
  /** Every worker process started, in start order (startWorker appends). */
  workers: ManagedProcess[];
  base: string;
  /** The environment both processes run with (after the caller's additions). */
  env: Record<string, string>;
  /** `Authorization: Bearer <key>` of a member key of the default tenant, which `call` sends; for a plain fetch. */
  auth: { Authorization: string };
  /** One HTTP call, authenticated; the body is whatever the API returned (the tests' assertions are its type check). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, as supertest's `body` is
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Polls GET /runs/:id until the run (or evaluation) has ended; resolves with its last body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, as `call`'s body
  runEnded(id: string, timeoutMs: number, intervalMs?: number): Promise<any>;
  /** Starts one more worker process with the cluster's environment; resolves once it is ready. */
  startWorker(): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Worker processes to start (default 1). */
  workers?: number;
  /** Start each worker as the leader of its own process group (for killProcessGroup). */
  workerProcessGroups?: boolean;
  /** The tenant of `auth` and `call` (default "default", which other test files share). */
  tenant?: string;
}

/**
 * An API and N worker processes from dist/ against the test database and Redis, on a free port
 * and their own queue prefix; resolves once the API is healthy and every worker ready, and
 * fails with the process's output if one dies during start-up.
 */
export async function startTestCluster(queuePrefix: string, extraEnv: Record<string, string> = {}, options: TestClusterOptions = {}): Promise<TestCluster> {
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: process.env.DATABASE_URL!,
    REDIS_URL: process.env.REDIS_URL!,
    QUEUE_PREFIX: uniqueQueuePrefix(queuePrefix),
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    BULWARK_BACKEND: 'wasm',
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '1000',
    ...TEST_RATE_LIMITS,
    // Clusters of other test files share this database under other queue prefixes: a reconciler
    // would take their runs, whose jobs it cannot see, for stranded. A file that tests the
    // reconciler gives its cluster a database of its own (scratch-database.ts) and a short grace.
    RECONCILE_GRACE_MS: '86400000',
    ...extraEnv,
  };
  const base = `http://127.0.0.1:${port}`;
  const api = startProcess(API_MAIN, env);
  const workerOptions = { processGroup: options.workerProcessGroups ?? false };
  const workers = Array.from({ length: options.workers ?? 1 }, () => startProcess(WORKER_MAIN, env, workerOptions));
  try {
    await Promise.race([
      Promise.all([waitFor('the API to be healthy', async () => (await fetch(`${base}/health`)).ok, 60_000), ...workers.map(workerReady)]),
      died(api, 'the API'),
      ...workers.map((w, i) => died(w, `worker ${i + 1}`)),
    ]);
  } catch (error) {
    await Promise.all([api.stop(), ...workers.map((w) => w.stop())]);
    throw error;
  }
  const auth = { Authorization: `Bearer ${await createTestKeyAt(env.DATABASE_URL, options.tenant ? { tenant: options.tenant } : {})}` };
  const call: TestCluster['call'] = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body ? { ...auth, 'content-type': 'application/json' } : auth,
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    api,
    worker: workers[0],
    workers,
    base,
    env,
    auth,
    call,
    runEnded(id, timeoutMs, intervalMs = 500) {
      return waitFor(
        `run ${id} to end`,
        async () => {
          const run = (await call('GET', `/runs/${id}`)).body as { status: RunStatus };
          return TERMINAL_STATUSES.includes(run.status) && run;
        },
        timeoutMs,
        intervalMs,
      );
    },
    async startWorker() {
      const worker = startProcess(WORKER_MAIN, env, workerOptions);
      workers.push(worker);
      await Promise.race([workerReady(worker), died(worker, `worker ${workers.length}`)]);
      return worker;
    },
    async stop() {
      await api.stop();
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

function workerReady(worker: ManagedProcess): Promise<boolean> {
  return waitFor('the worker to be ready', () => Promise.resolve(worker.output().includes('ready')), 60_000);
}

function died(p: ManagedProcess, name: string): Promise<never> {
  return p.exited.then((code) => Promise.reject(new Error(`${name} exited (${String(code)}) during start-up:\n${p.output()}`)));
}
