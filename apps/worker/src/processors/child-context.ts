import 'reflect-metadata';
import { Queue, type SandboxedJob } from 'bullmq';
import { DataSource } from 'typeorm';
import { WorkerConfig, loadWorkerConfig } from '@bulwark/config';
import { EvaluationResultRepository, RunRepository, dataSourceOptions } from '@bulwark/database';
import { redisConnectionOptions } from '@bulwark/queue';
import { BackendInfo, describeBackend, selectBackend } from '@bulwark/tfjs-runtime';
import { EvaluationInputs } from '../evaluation/evaluation-inputs';
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
  /** Datasets and models the jobs of one evaluation share, kept between jobs. */
  evaluationInputs: EvaluationInputs;
  /** The evaluation queue, opened on first use: an evaluation job adds its shard jobs to it. */
  /** The queue a job's children go on: the one it came from, so a GPU evaluation's shards stay on GPU workers. */
  queueNamed: (name: string) => Queue;
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
  log(`ready: backend ${describeBackend(backend)}`);
  const runs = new RunRepository(dataSource);
  const queues = new Map<string, Queue>();
  return {
    runs,
    evaluationResults: new EvaluationResultRepository(dataSource),
    backend,
    config,
    log,
    evaluationInputs: new EvaluationInputs(runs, config.datasetDirs),
    queueNamed: (name) => {
      const queue = queues.get(name) ?? new Queue(name, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
      queues.set(name, queue);
      return queue;
    },
  };
}

/** The context a job runner gets for one delivery of `job`. */
export async function jobContextFor(job: SandboxedJob): Promise<JobContext> {
  const { runs, evaluationResults, backend, config, log } = await childContext();
  return {
    runs,
    evaluationResults,
    backend,
    cancelPollMs: config.cancelPollMs,
    queue: { redisUrl: config.redisUrl, prefix: config.queuePrefix },
    datasetDirs: config.datasetDirs,
    attempt: job.attemptsMade + 1,
    reportProgress: (fraction) => job.updateProgress(Math.round(fraction * 1000) / 10),
    log,
  };
}
