import { BeforeApplicationShutdown, Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import type { ApiConfig } from '@bulwark/config';
import type { Run } from '@bulwark/database';
import {
  EVALUATION_GPU_QUEUE,
  EVALUATION_QUEUE,
  EvaluationJob,
  PredictJobData,
  PredictJobResult,
  RunJobData,
  TRAINING_GPU_QUEUE,
  TRAINING_QUEUE,
  TrainingJob,
  predictJobOptions,
  redisConnectionOptions,
  runJobOptions,
  runQueueName,
} from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError, redisPortOf, unavailableStore, withinStoreTimeout } from '../common/store-unavailable';

/** How a predict request ended, as far as the API can tell. */
export type PredictOutcome = { status: 'answered'; result: PredictJobResult } | { status: 'failed'; reason: string } | { status: 'timed-out' };

/**
 * The only place the API enqueues work. Every call fails within STORE_TIMEOUT_MS while Redis is
 * down, with a StoreUnavailableError('redis') that callers can tell from other failures.
 */
@Injectable()
export class RunJobsProducer implements OnModuleDestroy, BeforeApplicationShutdown {
  /** Opened on the first predict request: an API that never serves one holds no extra Redis connection. */
  private events?: Promise<QueueEvents>;

  constructor(
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue<TrainingJob['data'], unknown, TrainingJob['name']>,
    @InjectQueue(EVALUATION_QUEUE) private readonly evaluationQueue: Queue<EvaluationJob['data'], unknown, EvaluationJob['name']>,
    @InjectQueue(TRAINING_GPU_QUEUE) private readonly trainingGpuQueue: Queue<TrainingJob['data'], unknown, TrainingJob['name']>,
    @InjectQueue(EVALUATION_GPU_QUEUE) private readonly evaluationGpuQueue: Queue<EvaluationJob['data'], unknown, EvaluationJob['name']>,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /**
   * The run's job, named after its kind, on its kind's queue or, when its spec requires a GPU, on
   * that queue's GPU counterpart. Idempotent: the job id is the run id, so a second call for the
   * same run adds nothing.
   */
  async enqueue(run: Pick<Run, 'id' | 'kind' | 'spec'>): Promise<void> {
    const options = runJobOptions(run.id, { attempts: this.config.jobAttempts, backoffMs: this.config.jobBackoffMs });
    const data: RunJobData = { runId: run.id };
    await this.redis(async () => {
      if (run.kind === 'evaluation') await this.evaluationQueueOf(run).add(run.kind, data, options);
      else await this.trainingQueueOf(run).add(run.kind, data, options);
    });
  }

  /**
   * Enqueues a predict request and waits up to PREDICT_TIMEOUT_MS for a worker's answer. A
   * request nobody took in time is removed, so no worker spends time on an answer no one reads.
   */
  async predict(data: PredictJobData): Promise<PredictOutcome> {
    const events = await this.redis(() => this.queueEvents());
    const job = await this.redis(() => this.evaluationQueue.add('predict', data, predictJobOptions()));
    try {
      return { status: 'answered', result: (await job.waitUntilFinished(events, this.config.predictTimeoutMs)) as PredictJobResult };
    } catch (err) {
      const state = await this.redis(() => job.getState());
      if (state === 'failed') return { status: 'failed', reason: (err as Error).message };
      // Answered just as the wait ran out (a job that was added always has an id).
      if (state === 'completed' && job.id !== undefined) {
        const finished = await this.evaluationQueue.getJob(job.id);
        if (finished) return { status: 'answered', result: finished.returnvalue as PredictJobResult };
      }
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed') await job.remove().catch(() => undefined);
      return { status: 'timed-out' };
    }
  }

  /** Removes a job that no worker holds yet; returns false if it is active (or already gone). */
  async removeIfWaiting(run: Pick<Run, 'id' | 'kind' | 'spec'>): Promise<boolean> {
    const queue: Queue = run.kind === 'evaluation' ? this.evaluationQueueOf(run) : this.trainingQueueOf(run);
    const job = await this.redis(() => queue.getJob(run.id));
    if (!job) return false;
    const state = await this.redis(() => job.getState());
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch {
      // A worker took it between getState and remove: the worker will see the cancel flag instead.
      return false;
    }
  }

  /** Whether a worker holds the run's job (active, or an evaluation parked while its shards run): only such a job will see a cancel flag. */
  async isHeld(run: Pick<Run, 'id' | 'kind' | 'spec'>): Promise<boolean> {
    const queue: Queue = run.kind === 'evaluation' ? this.evaluationQueueOf(run) : this.trainingQueueOf(run);
    const state = await this.redis(() => queue.getJobState(run.id));
    return state === 'active' || state === 'waiting-children';
  }

  async onModuleDestroy(): Promise<void> {
    // Bounded: with Redis down, a QueueEvents still connecting never settles, and closing one waits on its blocking read.
    const events = await withinStoreTimeout('redis', this.events ?? Promise.resolve(undefined), this.config.storeTimeoutMs).catch(() => undefined);
    await withinStoreTimeout('redis', events?.close() ?? Promise.resolve(), this.config.storeTimeoutMs).catch(() => undefined);
  }

  /**
   * Before Nest closes the queues: with Redis down they are closed by force (no QUIT), since a
   * plain close sends QUIT to no one and fails the shutdown; Nest's close then finds them closed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const up = await this.redis(() => this.trainingQueue.getJobCounts('waiting')).then(
      () => true,
      () => false,
    );
    if (up) return;
    const queues: Queue[] = [this.trainingQueue, this.evaluationQueue, this.trainingGpuQueue, this.evaluationGpuQueue];
    await Promise.all(queues.map((queue) => withinStoreTimeout('redis', queue.getBackend().close(true), this.config.storeTimeoutMs).catch(() => undefined)));
  }

  /** One Redis call, bounded, its failure as StoreUnavailableError when it says Redis is down. */
  private async redis<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await withinStoreTimeout('redis', call(), this.config.storeTimeoutMs);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) && unavailableStore(err, redisPortOf(this.config.redisUrl)) === 'redis') {
        throw new StoreUnavailableError('redis', (err as Error).message);
      }
      throw err;
    }
  }

  private trainingQueueOf(run: Pick<Run, 'kind' | 'spec'>) {
    return runQueueName(run) === TRAINING_GPU_QUEUE ? this.trainingGpuQueue : this.trainingQueue;
  }

  private evaluationQueueOf(run: Pick<Run, 'kind' | 'spec'>) {
    return runQueueName(run) === EVALUATION_GPU_QUEUE ? this.evaluationGpuQueue : this.evaluationQueue;
  }

  private queueEvents(): Promise<QueueEvents> {
    this.events ??= (async () => {
      const events = new QueueEvents(EVALUATION_QUEUE, { connection: redisConnectionOptions(this.config.redisUrl), prefix: this.config.queuePrefix });
      await events.waitUntilReady();
      return events;
    })().catch((err: unknown) => {
      this.events = undefined;
      throw err;
    });
    return this.events;
  }
}
