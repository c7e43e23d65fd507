import 'reflect-metadata';
import { Queue, UnrecoverableError, type SandboxedJob } from 'bullmq';
import { DataSource } from 'typeorm';
import { WorkerConfig, loadWorkerConfig } from '@bulwark/config';
import { DatasetRepository, EvaluationResultRepository, RunRepository, dataSourceOptions } from '@bulwark/database';
import { connectRunEventPublisher, redisConnectionOptions } from '@bulwark/queue';
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
  uploadedDatasets: DatasetRepository;
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
  // Lives as long as the child: BullMQ ends it with the worker, and the OS closes its socket.
  const events = connectRunEventPublisher(config.redisUrl, config.queuePrefix, log).sink;
  const runs = new RunRepository(dataSource, events);
  const uploadedDatasets = new DatasetRepository(dataSource);
  const queues = new Map<string, Queue>();
  return {
    runs,
    evaluationResults: new EvaluationResultRepository(dataSource, events),
    uploadedDatasets,
    backend,
    config,
    log,
    evaluationInputs: new EvaluationInputs(runs, { dirs: config.datasetDirs, uploads: uploadedDatasets }),
    queueNamed: (name) => {
      const queue = queues.get(name) ?? new Queue(name, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
      queues.set(name, queue);
      return queue;
    },
  };
}

/** The context a job runner gets for one delivery of `job`. */
export async function jobContextFor(job: SandboxedJob): Promise<JobContext> {
  const { runs, evaluationResults, uploadedDatasets, backend, config, log } = await childContext();
  return {
    runs,
    evaluationResults,
    backend,
    cancelPollMs: config.cancelPollMs,
    queue: { redisUrl: config.redisUrl, prefix: config.queuePrefix },
    datasetDirs: config.datasetDirs,
    uploadedDatasets,
    attempt: job.attemptsMade + job.stalledCounter + 1,
    stalls: job.stalledCounter,
    crashBudget: config.crashBudget,
    reportProgress: (fraction) => job.updateProgress(Math.round(fraction * 1000) / 10),
    log,
  };
}

/**
 * A shard job (of an evaluation, or of a data-parallel step) has no checkpoints to make progress
 * with: BullMQ's stalled limit is lifted for the run jobs on its queue, so a shard that kills its
 * process every time fails here once it has stalled more often than CRASH_BUDGET, and its run
 * learns of it as of any failed shard.
 */
export async function refuseCrashLoop(job: SandboxedJob, what: string): Promise<void> {
  const { config } = await childContext();
  if (job.stalledCounter > config.crashBudget) {
    const budget = `CRASH_BUDGET=${config.crashBudget}`;
    throw new UnrecoverableError(`${what} crashed its worker ${job.stalledCounter} times, more than the crash budget allows (${budget})`);
  }
}
