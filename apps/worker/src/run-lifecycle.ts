import { UnrecoverableError } from 'bullmq';
import type { CheckpointBytes, CrashCount, Run } from '@bulwark/database';
import { requiresGpu } from '@bulwark/queue';
import type { RunSpec } from '@bulwark/spec';
import type { JobContext } from './job-context';
import { throttle } from './throttle';

/** Progress reaches BullMQ and the run row at most this often: per-batch writes would load Postgres for nothing. */
const PROGRESS_INTERVAL_MS = 1000;

/** A job whose run was cancelled or had ended before it started: the run is left as it is. */
export interface SkippedJob {
  status: 'skipped';
  reason: string;
}

/** What a job body gets besides its spec: its run, started, and the hooks and endings every runner shares. */
export interface RunLifecycle {
  /** The run as marked running, with this worker's backend and attempt recorded. */
  run: Run;
  /** Whether the run has been cancelled; reads Postgres at most every CANCEL_POLL_MS. */
  shouldStop: () => Promise<boolean>;
  /** Fraction 0..1 of the job done, to BullMQ and the run row, throttled. */
  progress: (fraction: number) => Promise<void>;
  /**
   * Ends the run succeeded, with its brief result and, in the same transaction, a checkpoint
   * (an import's accepted model); returns the job's outcome, status first.
   */
  succeeded: <T extends object>(outcome: T, end?: { result?: Record<string, unknown>; checkpoint?: CheckpointBytes }) => Promise<{ status: 'succeeded' } & T>;
  /** Ends the run cancelled (the body stopped on shouldStop) and returns the job's outcome. */
  cancelled: <T extends object>(outcome?: T) => Promise<{ status: 'cancelled' } & T>;
}

export interface RunJobOptions<S> {
  runId: string;
  /** The stored spec as this job can execute it; a spec it cannot is a configuration error (UnrecoverableError). */
  check: (spec: RunSpec) => S;
}

/**
 * The part every run's job shares: load the run, check its spec, mark it running (recording
 * the backend and attempt) and hand it to `body` with cancel polling and progress. A run
 * cancelled or ended before its job started is skipped; a cancelled one is ended cancelled.
 * A delivery after a crash (the job stalled) counts it against the run's crash budget first:
 * BullMQ's own stalled limit is out of the way (see SandboxedQueueWorker), so this is where a
 * run that crashes again and again without writing a newer checkpoint fails, and only such a run.
 * Whatever `body` throws propagates, so BullMQ records the attempt and retries it, and the
 * parent process marks the run retrying or failed (it also sees a child that crashed).
 */
export async function runJob<S, R>(
  ctx: JobContext,
  { runId, check }: RunJobOptions<S>,
  body: (spec: S, lifecycle: RunLifecycle) => Promise<R>,
): Promise<R | SkippedJob> {
  const run = await ctx.runs.find(runId);
  if (!run) throw new UnrecoverableError(`run ${runId} does not exist`);
  const spec = check(run.spec);
  if (requiresGpu(run.spec) && !ctx.backend.gpu) {
    // Only GPU workers consume GPU queues; this child's backend differs from the one its parent probed.
    throw new Error(`run ${runId} requires a GPU, but this job process runs on ${ctx.backend.name}, which does not compute on one`);
  }

  if (ctx.stalls > run.stallsCounted && !run.cancelRequestedAt) {
    const count = await ctx.runs.recordStalls(run.id, ctx.stalls);
    if (count && count.crashes > ctx.crashBudget) throw new UnrecoverableError(crashBudgetSpent(count, ctx.crashBudget));
    if (count) ctx.log(`run ${run.id}: re-delivered after a crash; ${count.crashes} crash(es) without progress of ${ctx.crashBudget} allowed`);
  }

  const started = await ctx.runs.markRunning(run.id, ctx.backend, ctx.attempt);
  if (!started) {
    if (run.cancelRequestedAt) await ctx.runs.markCancelled(run.id);
    return { status: 'skipped', reason: `run is ${run.cancelRequestedAt ? 'cancelled' : run.status}` };
  }

  return body(spec, {
    run: started,
    shouldStop: throttle(() => ctx.runs.isCancelRequested(run.id), ctx.cancelPollMs, false),
    progress: throttle(
      async (fraction: number) => {
        await Promise.all([ctx.reportProgress(fraction), ctx.runs.setProgress(run.id, fraction)]);
      },
      PROGRESS_INTERVAL_MS,
      undefined,
    ),
    succeeded: async (outcome, end = {}) => {
      if (end.checkpoint) await ctx.runs.markSucceededWithCheckpoint(run.id, end.checkpoint, end.result);
      else await ctx.runs.markSucceeded(run.id, end.result);
      return { status: 'succeeded' as const, ...outcome };
    },
    cancelled: async <T extends object>(outcome?: T) => {
      await ctx.runs.markCancelled(run.id);
      return { status: 'cancelled' as const, ...(outcome as T) };
    },
  });
}

/** Why a run failed on its crash budget: readable by whoever reads the run, naming the setting. */
export function crashBudgetSpent({ crashes, checkpointEpoch }: CrashCount, budget: number): string {
  const since = checkpointEpoch === null ? 'without writing a checkpoint' : `without a checkpoint newer than epoch ${checkpointEpoch}`;
  return `its worker crashed ${crashes} times in a row ${since}, more than its crash budget allows (CRASH_BUDGET=${budget})`;
}
