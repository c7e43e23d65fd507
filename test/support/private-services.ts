import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { runMigrations } from '../../libs/database/src/run-migrations';
import { freePort, waitFor } from './processes';

/**
 * Redis and Postgres servers of a test's own, on free ports with their data in temp folders, for
 * tests that stop, kill and restart them: the machine's services (which other test runs share)
 * are never touched.
 */

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: nothing is flushed beyond what the append-only file already holds. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (with AOF, with the data it had). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and commands get no answer, as behind a network partition. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/** `appendonly`: every write fsynced to an append-only file, so a kill -9 loses nothing that was acknowledged. */
export async function startPrivateRedis(options: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  if (options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const url = `redis://127.0.0.1:${port}`;

  const start = async (): Promise<void> => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    server = child;
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(`redis on port ${port}`, () => ping(url), 20_000, 100);
  };
  const kill = async (): Promise<void> => {
    server?.kill('SIGKILL');
    await exited;
    server = undefined;
  };
  await start();
  return {
    url,
    port,
    kill,
    start,
    freeze: () => server?.kill('SIGSTOP'),
    thaw: () => server?.kill('SIGCONT'),
    async destroy() {
      server?.kill('SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface PrivatePostgres {
  /** The migrated database's URL. */
  url: string;
  port: number;
  /** A fast shutdown (`pg_ctl stop -m fast`): every connection is ended, new ones are refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Where Postgres's server programs live: a source install, then Debian's packages (newest first). */
function pgBinDirs(): string[] {
  const debian = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  return ['/usr/local/bin', ...debian.map((version) => `/usr/lib/postgresql/${version}/bin`)];
}

function pgBin(name: string): string {
  const dirs = pgBinDirs();
  const found = dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`${name} (Postgres 15) was not found in ${dirs.join(' or ')}`);
  return found;
}

/**
 * Postgres refuses to run as root: when the tests run as root, the server runs as the `postgres`
 * user (through runuser), in a folder that user owns.
 */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

function run(command: string, args: string[]): void {
  const [cmd, argv] = asPostgresUser(command, args);
  execFileSync(cmd, argv, { stdio: 'pipe' });
}

/** A fresh cluster (trust auth, fsync off: its data is thrown away) with database `bulwark`, migrated. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run(pgBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  // Synchronous: pg_ctl -w returns once the server accepts connections (or has stopped).
  const start = (): Promise<void> => {
    run(pgBin('pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
    return Promise.resolve();
  };
  const stop = (): Promise<void> => {
    run(pgBin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    return Promise.resolve();
  };
  await start();
  const admin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE bulwark');
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:${port}/bulwark`;
  await runMigrations(url);
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
