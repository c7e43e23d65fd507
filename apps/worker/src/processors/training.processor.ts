import 'reflect-metadata';
import type { SandboxedJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import { WorkerConfig, loadWorkerConfig } from '@bulwark/config';
import { RunLedger, dataSourceOptions } from '@bulwark/database';
import { RunJobData, assertNever, isTrainingJobName } from '@bulwark/jobs';
import { BackendInfo, selectBackend } from '@bulwark/training';
import { runTrainingJob } from '../training/run-training-job';

/**
 * Sandboxed processor of the `training` queue: BullMQ runs this module in a child process, so
 * CPU-bound training never blocks the parent's lock renewal. The child owns its own Postgres
 * connection and compute backend, created on its first job and reused for the next ones.
 */
interface ChildContext {
  ledger: RunLedger;
  backend: BackendInfo;
  cancelPollMs: number;
  datasetDirs: WorkerConfig['datasetDirs'];
}

let context: Promise<ChildContext> | undefined;

async function createChildContext(): Promise<ChildContext> {
  const config = loadWorkerConfig();
  const backend = await selectBackend({ forced: config.forcedBackend, log: (line) => console.log(`[worker child ${process.pid}] ${line}`) });
  const dataSource = await new DataSource(dataSourceOptions(config.databaseUrl, 'bulwark-worker-job')).initialize();
  console.log(`[worker child ${process.pid}] ready: backend ${backend.name} (tfjs ${backend.tfjsVersion}, ${backend.threads} thread(s))`);
  return { ledger: new RunLedger(dataSource), backend, cancelPollMs: config.cancelPollMs, datasetDirs: config.datasetDirs };
}

export default async function trainingProcessor(job: SandboxedJob<RunJobData>) {
  context ??= createChildContext().catch((err: unknown) => {
    context = undefined;
    throw err;
  });
  const { ledger, backend, cancelPollMs, datasetDirs } = await context;
  const name = job.name;
  if (!isTrainingJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the training queue`);
  switch (name) {
    case 'train':
    case 'adversarial-train':
      return runTrainingJob(name, job.data, {
        ledger,
        backend,
        cancelPollMs,
        datasetDirs,
        attempt: job.attemptsMade + 1,
        reportProgress: (fraction) => job.updateProgress(Math.round(fraction * 1000) / 10),
        log: (line) => console.log(`[worker child ${process.pid}] ${line}`),
      });
    default:
      return assertNever(name);
  }
}
