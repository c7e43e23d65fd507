import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, JobsOptions, Worker } from 'bullmq';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { WorkerConfig } from '@bulwark/config';
import { RunRepository } from '@bulwark/database';
import type { QueueName, RunQueueName } from '@bulwark/spec';
import {
  EVALUATION_GPU_QUEUE,
  EVALUATION_QUEUE,
  EvaluationJob,
  EvaluationShardJobData,
  GRADIENT_GPU_QUEUE,
  GRADIENT_QUEUE,
  GradientShardJobData,
  RunJobData,
  TRAINING_GPU_QUEUE,
  TRAINING_QUEUE,
  TrainingJob,
  retryDelayMs,
  consumedQueueNames,
  isRunJobName,
  redisConnectionOptions,
} from '@bulwark/queue';
import type { BackendInfo } from '@bulwark/tfjs-runtime';
import { WORKER_BACKEND, WORKER_CONFIG } from './worker-config';

type QueueJobData = TrainingJob['data'] | EvaluationJob['data'] | GradientShardJobData;

/** BullMQ's stalled limit, out of the way: Lua reads it as a double, exact up to 2^53. */
const UNLIMITED_STALLS = Number.MAX_SAFE_INTEGER;

/**
 * Owns the BullMQ worker of one queue. The processor itself runs sandboxed in a child process
 * (processors/<queue>.processor.ts; a GPU queue shares its plain queue's processor), so
 * CPU-bound work never stalls lock renewal; this parent records what only it can see: a job
 * that failed for good (including a child that crashed) and a failed attempt that will be retried.
 */
abstract class SandboxedQueueWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private worker?: Worker<QueueJobData>;

  protected constructor(
    private readonly queueName: RunQueueName,
    private readonly processorQueue: QueueName,
    private readonly config: WorkerConfig,
    private readonly backend: BackendInfo,
    private readonly runs: RunRepository,
  ) {
    this.logger = new Logger(`${queueName} queue`);
  }

  onApplicationBootstrap(): void {
    if (!consumedQueueNames(this.config.queues, this.backend.gpu).includes(this.queueName)) {
      const why = this.queueName === this.processorQueue ? '' : `; only a worker whose backend computes on a GPU does, and ${this.backend.name} does not here`;
      this.logger.log(`not consuming "${this.queueName}" (WORKER_QUEUES=${this.config.queues.join(',')}${why})`);
      return;
    }
    const processorFile = join(__dirname, 'processors', `${this.processorQueue}.processor.js`);
    this.worker = new Worker<QueueJobData>(this.queueName, processorFile, {
      connection: redisConnectionOptions(this.config.redisUrl),
      prefix: this.config.queuePrefix,
      concurrency: this.config.concurrency,
      useWorkerThreads: false,
      // A job whose worker died is re-delivered and resumes from its checkpoint. BullMQ's own limit
      // would fail a run on its third crash however far it had got; the run's crash budget, which
      // counts only crashes without progress, is enforced when the job starts (runJob) instead.
      maxStalledCount: UNLIMITED_STALLS,
      // Recorded on every job it takes (processedBy): the same id the worker announces itself under.
      name: `${hostname()}:${process.pid}`,
      lockDuration: this.config.lockDurationMs,
      stalledInterval: this.config.stalledIntervalMs,
      settings: { backoffStrategy: (attemptsMade, _type, _err, job) => this.backoffMs(attemptsMade, job?.opts.backoff) },
    });
    this.worker.on('failed', (job, err) => void this.onFailed(job, err));
    // A predict job's return value is its answers (up to 64); the log gets their gist.
    this.worker.on('completed', (job) => this.logger.log(`job ${String(job.id)} (${job.name}) completed: ${gist(job.returnvalue)}`));
    this.worker.on('active', (job) => this.logger.log(`job ${String(job.id)} (${job.name}) started, attempt ${job.attemptsMade + 1}`));
    this.worker.on('stalled', (jobId) =>
      this.logger.warn(`job ${jobId} stalled; it will be re-delivered (its worker died or froze), within its run's crash budget`),
    );
    this.worker.on('error', (err) => this.logger.error(`queue error: ${err.message}`));
    this.logger.log(`consuming "${this.queueName}" (prefix ${this.config.queuePrefix}, concurrency ${this.config.concurrency})`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    const graceMs = this.config.shutdownGraceMs;
    this.logger.log(`shutting down: no new jobs; waiting up to ${graceMs / 1000}s for active ones`);
    // pause() stops fetching and resolves once the active jobs are done (their locks keep being renewed).
    const finished = await Promise.race([this.worker.pause().then(() => true), delay(graceMs).then(() => false)]);
    if (!finished) {
      this.logger.warn('active jobs did not finish in time; stopping their child processes: the jobs will be re-delivered and resume from their checkpoints');
    }
    // Forced or not, close() is called once: BullMQ answers a second close() with the first
    // one's promise, so a graceful close followed by a forced one would wait for the job forever.
    await this.worker.close(!finished);
    this.logger.log('worker closed');
  }

  /** The wait before a failed job's next attempt: its own backoff, capped at JOB_BACKOFF_MAX_MS. */
  private backoffMs(attemptsMade: number, backoff: JobsOptions['backoff']): number {
    return retryDelayMs(attemptsMade, backoff, this.config.jobBackoffMaxMs);
  }

  private async onFailed(job: Job<QueueJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    if (job.name === 'evaluation-shard') return this.onShardFailed(job as Job<EvaluationShardJobData>, err);
    if (!isRunJobName(job.name)) {
      // A request (predict) or a gradient shard: its caller (the API, a trainer) gets the failure and decides for the run.
      this.logger.warn(`job ${String(job.id)} (${job.name}) failed: ${err.message}`);
      return;
    }
    return this.onRunFailed(job as Job<RunJobData>, err);
  }

  private async onRunFailed(job: Job<RunJobData>, err: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    const message = err.message || String(err);
    try {
      if (final) {
        await this.runs.markFailed(job.data.runId, message);
        this.logger.error(`run ${job.data.runId} failed: ${message}`);
      } else {
        const waitMs = this.backoffMs(job.attemptsMade, job.opts.backoff);
        await this.runs.markRetrying(job.data.runId, `attempt ${job.attemptsMade} of ${attempts} failed: ${message}`, new Date(Date.now() + waitMs));
        this.logger.warn(`run ${job.data.runId} attempt ${job.attemptsMade}/${attempts} failed, will retry in ${Math.round(waitMs / 1000)} s: ${message}`);
      }
    } catch (dbErr) {
      this.logger.error(`could not record the failure of run ${job.data.runId}: ${(dbErr as Error).message}`);
    }
  }

  /**
   * A shard that failed for good fails its run at once, naming the shard: the other shards then
   * skip, and the parent job, woken when they are done, finds the run ended. A failed attempt
   * that will be retried leaves the run running: its other shards are still being computed.
   */
  private async onShardFailed(job: Job<EvaluationShardJobData>, err: Error): Promise<void> {
    const { runId, view, index } = job.data;
    const attempts = job.opts.attempts ?? 1;
    const message = err.message || String(err);
    if (err.name !== 'UnrecoverableError' && job.attemptsMade < attempts) {
      this.logger.warn(`run ${runId}: shard ${index} of view ${view}, attempt ${job.attemptsMade}/${attempts} failed, will retry: ${message}`);
      return;
    }
    try {
      await this.runs.markFailed(runId, `shard ${index} of view ${view} failed after ${job.attemptsMade} attempt(s): ${message}`);
      this.logger.error(`run ${runId} failed: shard ${index} of view ${view}: ${message}`);
    } catch (dbErr) {
      this.logger.error(`could not record the failure of run ${runId}: ${(dbErr as Error).message}`);
    }
  }
}

/** A job's return value as logged: its first 300 characters of JSON (JSON.stringify gives undefined for a job that returned nothing). */
function gist(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value).slice(0, 300);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

@Injectable()
export class TrainingQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(TRAINING_QUEUE, TRAINING_QUEUE, config, backend, runs);
  }
}

@Injectable()
export class EvaluationQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(EVALUATION_QUEUE, EVALUATION_QUEUE, config, backend, runs);
  }
}

@Injectable()
export class TrainingGpuQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(TRAINING_GPU_QUEUE, TRAINING_QUEUE, config, backend, runs);
  }
}

@Injectable()
export class EvaluationGpuQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(EVALUATION_GPU_QUEUE, EVALUATION_QUEUE, config, backend, runs);
  }
}

@Injectable()
export class GradientQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(GRADIENT_QUEUE, GRADIENT_QUEUE, config, backend, runs);
  }
}

@Injectable()
export class GradientGpuQueueWorker extends SandboxedQueueWorker {
  constructor(@Inject(WORKER_CONFIG) config: WorkerConfig, @Inject(WORKER_BACKEND) backend: BackendInfo, runs: RunRepository) {
    super(GRADIENT_GPU_QUEUE, GRADIENT_QUEUE, config, backend, runs);
  }
}
