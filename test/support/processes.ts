import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const API_MAIN = join(ROOT, 'dist/apps/api/src/main.js');
export const WORKER_MAIN = join(ROOT, 'dist/apps/worker/src/main.js');

export interface ManagedProcess {
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then wait for exit; returns the exit code (or the signal's name). */
  stop: (timeoutMs?: number) => Promise<number | string | null>;
  exited: Promise<number | string | null>;
}

export function assertBuilt(): void {
  for (const file of [API_MAIN, WORKER_MAIN]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before the e2e tests (scripts/test.sh does)`);
  }
}

export interface StartProcessOptions {
  /** Lead a process group of its own, so that killProcessGroup reaches it and every process it starts. */
  processGroup?: boolean;
}

export function startProcess(script: string, env: Record<string, string | undefined>, options: StartProcessOptions = {}): ManagedProcess {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return {
    child,
    output: () => output,
    exited,
    stop: async (timeoutMs = 40_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const cause = lastError instanceof Error ? String(lastError) : JSON.stringify(lastError);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${cause}`}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * SIGKILLs a process and every process below it (a worker and its sandboxed job processes), as
 * a crashed machine would: nothing gets to clean up. Returns the pids signalled.
 */
export function killProcessTree(pid: number): number[] {
  const tree = [pid, ...descendants(pid)];
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return tree;
}

export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name before it may hold spaces, hence after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while listing
    }
  }
  const found: number[] = [];
  const visit = (p: number): void => {
    for (const child of parents.get(p) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/**
 * SIGKILLs a whole process group (a worker started with `processGroup` and its sandboxed job
 * processes), as `kill -9 -PGID` does: one signal, delivered by the kernel to every member at once.
 */
export function killProcessGroup(pid: number): void {
  process.kill(-pid, 'SIGKILL');
}
