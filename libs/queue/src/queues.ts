import type { JobsOptions } from 'bullmq';
import type { DetectorKind, ModelRunKind } from './run-spec';

/**
 * The one contract api and worker share: queue names, job names and payloads.
 * Run payloads carry ids, never tensors or configuration: Postgres is the source of truth.
 * The one exception is `predict`, a request and not a run: its inputs are the request.
 */
export const TRAINING_QUEUE = 'training';

export interface RunJobData {
  runId: string;
}

export type TrainingJob =
  | { name: 'train'; data: RunJobData }
  | { name: 'adversarial-train'; data: RunJobData }
  | { name: 'distill'; data: RunJobData }
  /** Loads, checks and measures an uploaded model (a run of kind 'import'). */
  | { name: 'import'; data: RunJobData };

export type TrainingJobName = TrainingJob['name'];

export const TRAINING_JOB_NAMES: readonly TrainingJobName[] = ['train', 'adversarial-train', 'distill', 'import'];

export function trainingJobFor(kind: ModelRunKind, runId: string): TrainingJob {
  switch (kind) {
    case 'train':
      return { name: 'train', data: { runId } };
    case 'adversarial-training':
      return { name: 'adversarial-train', data: { runId } };
    case 'distillation':
      return { name: 'distill', data: { runId } };
    case 'import':
      return { name: 'import', data: { runId } };
    default:
      return assertNever(kind);
  }
}

export function isTrainingJobName(name: string): name is TrainingJobName {
  return (TRAINING_JOB_NAMES as readonly string[]).includes(name);
}

export const EVALUATION_QUEUE = 'evaluation';

/** Most inputs one predict request may carry (64 CIFAR-10 images are about 200k numbers). */
export const MAX_PREDICT_INPUTS = 64;

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

export type EvaluationJob = { name: 'evaluate'; data: RunJobData } | { name: 'predict'; data: PredictJobData };
export type EvaluationJobName = EvaluationJob['name'];
export const EVALUATION_JOB_NAMES: readonly EvaluationJobName[] = ['evaluate', 'predict'];

export function isEvaluationJobName(name: string): name is EvaluationJobName {
  return (EVALUATION_JOB_NAMES as readonly string[]).includes(name);
}

/** A job as the processor receives it (name and data apart), as the discriminated union. */
export function evaluationJob(name: EvaluationJobName, data: unknown): EvaluationJob {
  return { name, data } as EvaluationJob;
}

/** Jobs that execute a run: their data is RunJobData and their failures are the run's. A predict job's failure is its caller's. */
export function isRunJobName(name: string): name is TrainingJobName | 'evaluate' {
  return isTrainingJobName(name) || name === 'evaluate';
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/** The job id is the run id, so enqueueing the same run twice is a no-op in BullMQ. */
export function runJobOptions(runId: string, retry: RetryPolicy): JobsOptions {
  return {
    jobId: runId,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    // Postgres keeps the history; Redis only needs recent jobs for inspection.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * A predict request is answered once, while its caller waits: no retries (the caller would
 * have given up), ahead of queued runs (LIFO), and its inputs gone from Redis within the hour.
 */
export function predictJobOptions(): JobsOptions {
  return { attempts: 1, lifo: true, removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
