import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ApiKeyRepository, dataSourceOptions, runMigrations } from '@bulwark/database';

const DIST = resolve(__dirname, '..', '..');
const API_MAIN = resolve(DIST, 'apps/api/src/main.js');
const WORKER_MAIN = resolve(DIST, 'apps/worker/src/main.js');

/** An API and N worker processes from dist/ on a database and queue prefix of their own: what a benchmark measures. */
export interface LocalCluster {
  base: string;
  /** A member key of the cluster's database, for its API calls. */
  key: string;
  workers: number;
  addWorker(): Promise<void>;
  stop(): Promise<void>;
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function start(script: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, output: () => output };
}

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number, process_?: Started): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process_ && process_.child.exitCode !== null) throw new Error(`${what}: the process exited:\n${process_.output()}`);
    if (
      await Promise.resolve()
        .then(probe)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Creates a fresh database (dropped by stop), migrates it and starts the API and `workers`
 * worker processes; resolves once all are ready. Needs Postgres and Redis as the tests do.
 */
export async function startLocalCluster(options: { workers: number; port: number; extraEnv?: Record<string, string> }): Promise<LocalCluster> {
  const admin = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = `bulwark_bench_${process.pid}_${Date.now()}`;
  const databaseUrl = Object.assign(new URL(admin), { pathname: `/${database}` }).toString();
  const sql = async (statement: string) => {
    const client = new Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await sql(`CREATE DATABASE "${database}"`);
  await runMigrations(databaseUrl);
  const keys = await new DataSource(dataSourceOptions(databaseUrl, 'bulwark-bench-keys')).initialize();
  const { key } = await new ApiKeyRepository(keys).createForTenantName('bench', 'member').finally(() => keys.destroy());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `bench-${process.pid}-${Date.now()}`,
    API_HOST: '127.0.0.1',
    API_PORT: String(options.port),
    // A benchmark submits and reads as fast as it can: the per-key limits are not what it measures.
    RATE_LIMIT_SUBMITS: '1000000',
    RATE_LIMIT_HEAVY_READS: '1000000',
    BULWARK_BACKEND: process.env.BULWARK_BACKEND ?? 'wasm',
    ...options.extraEnv,
  };
  const base = `http://127.0.0.1:${options.port}`;
  const processes: Started[] = [];
  const addWorker = async () => {
    const worker = start(WORKER_MAIN, env);
    processes.push(worker);
    await until('a worker to be ready', () => worker.output().includes('ready'), 60_000, worker);
  };
  const api = start(API_MAIN, env);
  processes.push(api);
  await until('the API to be healthy', async () => (await fetch(`${base}/health`)).ok, 60_000, api);
  for (let i = 0; i < options.workers; i += 1) await addWorker();
  return {
    base,
    key,
    get workers() {
      return processes.length - 1;
    },
    addWorker,
    stop: async () => {
      await Promise.all(
        processes.map(
          ({ child }) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) {
                done();
                return;
              }
              child.once('exit', () => done());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 40_000).unref();
            }),
        ),
      );
      await sql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
  };
}
