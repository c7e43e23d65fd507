import type { JobState } from 'bullmq';
import type { Run } from '@bulwark/database';

/** States in which a run's job will still move the run on: someone holds it or will. */
const LIVE_STATES: readonly string[] = ['waiting', 'wait', 'delayed', 'prioritized', 'active', 'waiting-children'];

/**
 * A job failure that says nothing about the run: its worker lost Postgres or Redis (the attempts
 * ran out during an outage), or an older worker's BullMQ gave up on its stalls. Such a run is
 * handed back to the queue, as a crash, instead of failed.
 */
const INFRASTRUCTURE_FAILURE = new RegExp(
  [
    'ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN',
    'Connection terminated|connection timeout|terminating connection|Connection is closed',
    'the database system is (starting up|shutting down|in recovery mode)',
    'job stalled more than allowable limit',
  ].join('|'),
  'i',
);

/** The run's job as the reconciler found it: missing, or in a state with its failure reason. */
export type JobSighting = { state: 'missing' } | { state: JobState | 'unknown'; failedReason?: string };

/** What the reconciler does with one queued or running run. */
export type Verdict =
  | { action: 'leave' }
  /** Its cancel was requested and no job will ever see it: end it cancelled. */
  | { action: 'cancel' }
  /** A queued row whose job never made it to Redis (or is done with): enqueue it. */
  | { action: 'enqueue'; reason: string }
  /** Its job was lost mid-run (or failed only on an outage): count a crash and enqueue it to resume. */
  | { action: 'requeue'; reason: string }
  /** Its job failed for good and the failure never reached the run: record it. */
  | { action: 'fail'; reason: string };

export function isInfrastructureFailure(reason: string): boolean {
  return INFRASTRUCTURE_FAILURE.test(reason);
}

/** Decides for one run that Postgres says is queued or running, from its job (job id = run id). */
export function strandedRunVerdict(run: Pick<Run, 'status' | 'cancelRequestedAt'>, job: JobSighting): Verdict {
  if (LIVE_STATES.includes(job.state)) return { action: 'leave' };
  if (run.cancelRequestedAt) return { action: 'cancel' };
  if (job.state === 'failed') {
    const reason = job.failedReason || 'its job failed without a reason';
    if (!isInfrastructureFailure(reason)) return { action: 'fail', reason };
    return { action: 'requeue', reason: `its job failed on an outage (${reason}); resumed by the reconciler` };
  }
  const lost = job.state === 'missing' ? 'its job is missing from the queue' : `its job is ${job.state} while the run is ${run.status}`;
  if (run.status === 'queued') return { action: 'enqueue', reason: lost };
  return { action: 'requeue', reason: `${lost}; resumed by the reconciler from its newest checkpoint` };
}
