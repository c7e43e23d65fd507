import 'reflect-metadata';
import type { SandboxedJob } from 'bullmq';
import { DataSource } from 'typeorm';
import { WorkerConfig, loadWorkerConfig } from '@bulwark/config';
import { EvaluationResultRepository, RunRepository, dataSourceOptions } from '@bulwark/database';
import { BackendInfo, describeBackend, selectBackend } from '@bulwark/tfjs-runtime';
import type { JobContext } from '../job-context';

/**
 * What a sandboxed processor's child process needs, created on its first job and reused for
 * the next ones: its own Postgres connection and its compute backend.
 */
export interface ChildContext {
  runs: RunRepository;
  evaluationResults: EvaluationResultRepository;
  backend: BackendInfo;
  config: WorkerConfig;
  log: (line: string) => void;
}

/**
 * The parent signals its children only once its shutdown grace is over (a forced close).
 * BullMQ's own handler would then let the job run on until its 30 s kill timeout; the job is
 * abandoned either way, re-delivered and resumed from its newest checkpoint, so leave now.
 */
process.once('SIGTERM', () => {
  console.log(`[worker child ${process.pid}] SIGTERM: abandoning the current job; it resumes from its checkpoint when re-delivered`);
  process.exit(143);
});

let context: Promise<ChildContext> | undefined;

function childContext(): Promise<ChildContext> {
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
  log(`ready: backend ${describeBackend(backend)}`);
  return { runs: new RunRepository(dataSource), evaluationResults: new EvaluationResultRepository(dataSource), backend, config, log };
}

/** The context a job runner gets for one delivery of `job`. */
export async function jobContextFor(job: SandboxedJob): Promise<JobContext> {
  const { runs, evaluationResults, backend, config, log } = await childContext();
  return {
    runs,
    evaluationResults,
    backend,
    cancelPollMs: config.cancelPollMs,
    datasetDirs: config.datasetDirs,
    attempt: job.attemptsMade + 1,
    reportProgress: (fraction) => job.updateProgress(Math.round(fraction * 1000) / 10),
    log,
  };
}
