import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { WorkerConfig, loadWorkerConfig } from '@bulwark/config';
import { RunLedger, dataSourceOptions } from '@bulwark/database';
import { BackendInfo, selectBackend } from '@bulwark/training';

/**
 * What a sandboxed processor's child process needs, created on its first job and reused for
 * the next ones: its own Postgres connection and its compute backend.
 */
export interface ChildContext {
  ledger: RunLedger;
  backend: BackendInfo;
  config: WorkerConfig;
  log: (line: string) => void;
}

let context: Promise<ChildContext> | undefined;

export function childContext(): Promise<ChildContext> {
  context ??= createChildContext().catch((err: unknown) => {
    context = undefined;
    throw err;
  });
  return context;
}

async function createChildContext(): Promise<ChildContext> {
  const log = (line: string) => console.log(`[worker child ${process.pid}] ${line}`);
  const config = loadWorkerConfig();
  const backend = await selectBackend({ forced: config.forcedBackend, log });
  const dataSource = await new DataSource(dataSourceOptions(config.databaseUrl, 'bulwark-worker-job')).initialize();
  log(`ready: backend ${backend.name} (tfjs ${backend.tfjsVersion}, ${backend.threads} thread(s))`);
  return { ledger: new RunLedger(dataSource), backend, config, log };
}
