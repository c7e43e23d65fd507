import type { JobsOptions } from 'bullmq';
import {
  EVALUATION_QUEUE,
  GPU_QUEUES,
  MODEL_RUN_KINDS,
  RUN_KINDS,
  TRAINING_QUEUE,
  type DetectorKind,
  type EvaluationView,
  type ModelRunKind,
  type QueueName,
  type RunKind,
  type RunQueueName,
  type RunSpec,
} from '@bulwark/spec';

/**
 * The one contract api and worker share: queue names, job names and payloads. A run's job is
 * named after its kind: evaluations on the evaluation queue, every other kind on the training
 * queue, or on its GPU counterpart when the spec requires a GPU (queue names are declared in
 * @bulwark/spec, which config reads too).
 * Run payloads carry ids, never tensors or configuration: Postgres is the source of truth.
 * The one exception is `predict`, a request and not a run: its inputs are the request.
 */
export { EVALUATION_GPU_QUEUE, EVALUATION_QUEUE, GPU_QUEUES, GRADIENT_GPU_QUEUE, GRADIENT_QUEUE, TRAINING_GPU_QUEUE, TRAINING_QUEUE } from '@bulwark/spec';

/** The queue a run's job goes to: its kind's queue, or that queue's GPU counterpart when the spec says `requiresGpu`. */
export function runQueueName(run: { kind: RunKind; spec: RunSpec }): RunQueueName {
  const queue: QueueName = run.kind === 'evaluation' ? EVALUATION_QUEUE : TRAINING_QUEUE;
  return requiresGpu(run.spec) ? GPU_QUEUES[queue] : queue;
}

/** Import specs have no such field; stored runs from before it existed lack it (false). */
export function requiresGpu(spec: RunSpec): boolean {
  return 'requiresGpu' in spec && spec.requiresGpu === true;
}

/**
 * What a worker consumes: the queues WORKER_QUEUES lists and, where its backend computes on a
 * GPU, their GPU counterparts. A GPU worker keeps the plain queues too: any run may use a GPU.
 */
export function consumedQueueNames(queues: readonly QueueName[], gpu: boolean): RunQueueName[] {
  return gpu ? [...queues, ...queues.map((queue) => GPU_QUEUES[queue])] : [...queues];
}

export interface RunJobData {
  runId: string;
}

/** The job that executes a run of kind K. */
export interface RunJob<K extends RunKind> {
  name: K;
  data: RunJobData;
}

/** The training queue: one job per run that makes a model (an import loads, checks and measures an upload). */
export type TrainingJob = { [K in ModelRunKind]: RunJob<K> }[ModelRunKind];
export type TrainingJobName = TrainingJob['name'];

export function isTrainingJobName(name: string): name is TrainingJobName {
  return (MODEL_RUN_KINDS as readonly string[]).includes(name);
}

/**
 * Classify inputs with an evaluated stack: the evaluation's model behind its defense, and one
 * of its detectors, refitted deterministically from the evaluation's spec (detector state is
 * not stored). Answered by the worker, awaited by the API.
 */
export interface PredictJobData {
  /** A succeeded evaluation run with detectors. */
  evaluationRunId: string;
  /** Which of its detectors guards the stack. */
  detector: DetectorKind;
  /** Flattened images in [0,1], H·W·C numbers each (row-major, channels last), at most MAX_PREDICT_INPUTS. */
  inputs: number[][];
}

export type PredictAnswer =
  | { rejected: false; label: number; className: string; score: number }
  | { rejected: true; reason: 'rejected as adversarial'; detector: DetectorKind; score: number };

export interface PredictJobResult {
  /** The detector as refitted: its threshold equals the evaluation's stored one. */
  detector: { kind: DetectorKind; threshold: number; targetFpr: number };
  /** One per input, in order; `score` is the detector's (higher = more suspicious). */
  predictions: PredictAnswer[];
}

/**
 * One shard of an evaluation run: a child job of the run's `evaluation` job, which plans the
 * shards from the run's spec and merges what they store. Any evaluation worker may take it.
 */
export interface EvaluationShardJobData {
  runId: string;
  view: EvaluationView;
  /** Position of the shard in its view (planShards). */
  index: number;
}

export type EvaluationJob = RunJob<'evaluation'> | { name: 'evaluation-shard'; data: EvaluationShardJobData } | { name: 'predict'; data: PredictJobData };
export type EvaluationJobName = EvaluationJob['name'];
export const EVALUATION_JOB_NAMES: readonly EvaluationJobName[] = ['evaluation', 'evaluation-shard', 'predict'];

export function isEvaluationJobName(name: string): name is EvaluationJobName {
  return (EVALUATION_JOB_NAMES as readonly string[]).includes(name);
}

/** A job as the processor receives it (name and data apart), as the discriminated union. */
export function evaluationJob(name: EvaluationJobName, data: unknown): EvaluationJob {
  return { name, data } as EvaluationJob;
}

/** Jobs that execute a run: their data is RunJobData and their failures are the run's. A predict job's failure is its caller's. */
export function isRunJobName(name: string): name is RunKind {
  return (RUN_KINDS as readonly string[]).includes(name);
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/**
 * The backoff type of run and shard jobs: exponential from the job's `delay`, capped by the
 * worker that retries it (JOB_BACKOFF_MAX_MS), so enough attempts ride out a store's outage of
 * minutes without the last wait growing to hours. Every worker registers it (cappedBackoffMs).
 */
export const CAPPED_EXPONENTIAL_BACKOFF = 'capped-exponential';

/** The wait before the attempt after `attemptsMade` failed ones: BullMQ's exponential, at most `maxMs`. */
export function cappedBackoffMs(attemptsMade: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.round(baseMs * 2 ** Math.max(0, attemptsMade - 1)));
}

/**
 * The wait before a failed job's next attempt, whatever its backoff option (a number, `fixed`,
 * BullMQ's `exponential` of jobs enqueued by older releases, or capped-exponential). A Worker
 * registers it as `settings.backoffStrategy`: without it, BullMQ cannot retry (nor fail) a job
 * whose backoff is capped-exponential, and the job is left active until it stalls.
 */
export function retryDelayMs(attemptsMade: number, backoff: JobsOptions['backoff'], maxMs: number): number {
  if (typeof backoff === 'number') return backoff;
  const base = backoff?.delay ?? 0;
  if (backoff?.type === 'fixed') return base;
  if (backoff?.type === 'exponential') return Math.round(base * 2 ** Math.max(0, attemptsMade - 1));
  return cappedBackoffMs(attemptsMade, base, maxMs);
}

/** The job id is the run id, so enqueueing the same run twice is a no-op in BullMQ. */
export function runJobOptions(runId: string, retry: RetryPolicy): JobsOptions {
  return {
    jobId: runId,
    attempts: retry.attempts,
    backoff: { type: CAPPED_EXPONENTIAL_BACKOFF, delay: retry.backoffMs },
    // Postgres keeps the history; Redis only needs recent jobs for inspection.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * A shard job: its id names the run, view and shard (BullMQ ids may not hold ':'), so adding it
 * again, as a re-delivered parent does, is a no-op. Its failure does not fail the parent in
 * Redis: the worker records it on the run, naming the shard, and the parent, woken once every
 * shard is done, finds the shard missing in Postgres.
 */
export function shardJobOptions(shard: EvaluationShardJobData, parent: { id: string; queue: string }, retry: RetryPolicy): JobsOptions {
  return {
    ...runJobOptions(shardJobId(shard), retry),
    parent,
    ignoreDependencyOnFailure: true,
  };
}

export function shardJobId({ runId, view, index }: EvaluationShardJobData): string {
  return `${runId}.${view}.${index}`;
}

/**
 * A predict request is answered once, while its caller waits: no retries (the caller would
 * have given up), ahead of queued runs (LIFO), and its inputs gone from Redis within the hour.
 */
export function predictJobOptions(): JobsOptions {
  return { attempts: 1, lifo: true, removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
}

/**
 * One shard of one data-parallel training step. The tensors travel beside the job as binary
 * Redis values (weights, the shard's examples, the answer), named here, with an expiry: a
 * trainer that dies leaves nothing behind for long.
 */
export interface GradientShardJobData {
  runId: string;
  /** The run's optimizer step, 0-based over every epoch. */
  step: number;
  shard: number;
  shards: number;
  epsilon: number;
  seed: number;
  /** [H, W, C] and class names of the run's dataset: what building its model needs. */
  inputShape: [number, number, number];
  classNames: string[];
  /** Redis keys (with the queue prefix): float arrays of trainable weights then state; the examples; where the answer goes. */
  keys: { weights: string; examples: string; outcome: string };
}

export const GRADIENT_SHARD_JOB = 'gradient-shard';

/** Retried at once (a shard is seconds of work and its trainer is waiting); gone from Redis as soon as it is done. */
export function gradientShardJobOptions(): JobsOptions {
  return { attempts: 3, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: { age: 300 }, removeOnFail: { age: 3600 } };
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
