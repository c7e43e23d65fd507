import type { JobsOptions } from 'bullmq';
import type { TrainingRunKind } from './run-spec';

/**
 * The one contract api and worker share: queue names, job names and payloads.
 * Payloads carry ids, never tensors or configuration: Postgres is the source of truth.
 */
export const TRAINING_QUEUE = 'training';

export interface RunJobData {
  runId: string;
}

export type TrainingJob =
  | { name: 'train'; data: RunJobData }
  | { name: 'adversarial-train'; data: RunJobData }
  | { name: 'distill'; data: RunJobData };

export type TrainingJobName = TrainingJob['name'];

export const TRAINING_JOB_NAMES: readonly TrainingJobName[] = ['train', 'adversarial-train', 'distill'];

export function trainingJobFor(kind: TrainingRunKind, runId: string): TrainingJob {
  switch (kind) {
    case 'train':
      return { name: 'train', data: { runId } };
    case 'adversarial-training':
      return { name: 'adversarial-train', data: { runId } };
    case 'distillation':
      return { name: 'distill', data: { runId } };
    default:
      return assertNever(kind);
  }
}

export function isTrainingJobName(name: string): name is TrainingJobName {
  return (TRAINING_JOB_NAMES as readonly string[]).includes(name);
}

export const EVALUATION_QUEUE = 'evaluation';

export type EvaluationJob = { name: 'evaluate'; data: RunJobData };
export type EvaluationJobName = EvaluationJob['name'];
export const EVALUATION_JOB_NAMES: readonly EvaluationJobName[] = ['evaluate'];

export function isEvaluationJobName(name: string): name is EvaluationJobName {
  return (EVALUATION_JOB_NAMES as readonly string[]).includes(name);
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

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
