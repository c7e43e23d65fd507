import { evaluationBody } from './plan';
import { planKey } from './plan-fingerprint';
import type { StoredRun } from './report-rows';
import { awaitedEntries, entryStatus, isFailed, isTerminal, nextSubmission, PlanEntries, ScheduleState, Slots, Submission } from './report-schedule';
import type { ReportSession } from './report-session';
import { newestCheckpoint, resumeBodyFor } from './report-store';

export interface SubmissionOptions {
  /** Poll until every entry has finished (false: submit what can be submitted, then return). */
  wait: boolean;
  slots: Slots;
  /** Attempts at an entry whose stored run failed or was cancelled (0: report it as blocked). */
  retryFailed: number;
  heldBack: ReadonlySet<string>;
  pollMs: number;
}

type TrackedRun = StoredRun & { progress?: number; error?: string | null };

/** Runs and refusals of one invocation, updated as it submits and polls. */
interface Tracking {
  runs: Map<string, TrackedRun>;
  refused: Map<string, string>;
}

const scheduleState = (tracking: Tracking, options: SubmissionOptions): ScheduleState => ({ ...tracking, heldBack: options.heldBack });

/**
 * The jobs an earlier invocation submitted and that are still queued, running or done, found
 * by their idempotency keys (GET /runs?idempotencyKey=, which submits nothing): they hold their
 * slots from the first poll, so a restarted command neither fills the slots with the next
 * entries while they run nor waits on slots for work already finished. A failed or cancelled
 * one is left to the submission, which reports or retries it. An API without the filter refuses
 * the query: then every entry is found as before, when its turn to be submitted comes.
 */
async function adoptSubmitted(session: ReportSession, ids: string[], tracking: Tracking): Promise<void> {
  for (const id of ids) {
    let found: TrackedRun | undefined;
    try {
      const key = encodeURIComponent(planKey(id, session.fingerprints));
      const { items } = await session.api<{ items: TrackedRun[] }>('GET', `/runs?idempotencyKey=${key}&limit=1`);
      found = items.at(0);
    } catch (error) {
      session.log(`looking up earlier submissions: ${error instanceof Error ? error.message : String(error)}; each entry is found when it is submitted`);
      return;
    }
    if (found && !isFailed(found.status)) tracking.runs.set(id, found);
  }
}

/** The run of an entry the schedule (nextSubmission) builds on only once it has succeeded: an evaluation's source, a training's parent. */
function runOf(runs: Map<string, TrackedRun>, id: string): TrackedRun {
  const run = runs.get(id);
  if (!run) throw new Error(`internal: ${id} has no run to build on`);
  return run;
}

/** The path and body of a submission: a new run, a resumed one, or an evaluation of a trained source. */
async function requestFor(
  session: ReportSession,
  submission: Submission,
  runs: Map<string, TrackedRun>,
): Promise<{ path: string; body: Record<string, unknown> }> {
  if (submission.kind === 'evaluation') {
    const evaluation = submission.entry;
    return { path: '/evaluations', body: evaluationBody(evaluation, runOf(runs, evaluation.source).id) };
  }
  const training = submission.entry;
  const resume = await resumeBodyFor(session.store, session.storePath, training, session.fingerprints, session.log);
  if (resume) {
    session.log(`${training.id}: resuming after epoch ${(resume.checkpoint as { epoch: number }).epoch} from the store`);
    return { path: '/runs/resume', body: resume };
  }
  if (!training.parent) return { path: '/runs', body: training.body };
  const parent = runOf(runs, training.parent.plan);
  const { items } = await session.api<{ items: Array<{ id: string; epoch: number }> }>('GET', `/runs/${parent.id}/checkpoints`);
  const checkpoint = newestCheckpoint(items);
  if (!checkpoint) throw new Error(`${training.parent.plan}: run ${parent.id.slice(0, 8)} has no checkpoint to build on`);
  return { path: '/runs', body: { ...training.body, [training.parent.field]: checkpoint.id } };
}

/**
 * Submits one entry under its idempotency key. A key that finds a run an earlier invocation saw
 * fail or be cancelled is, with --retry-failed, tried again under a numbered key (the next
 * invocation finds that one again). A refused submission (e.g. an API too old for a field) is
 * kept in `refused` and tried again on the next poll, so the rest of the plan goes on.
 */
async function submit(session: ReportSession, submission: Submission, tracking: Tracking, retryFailed: number): Promise<void> {
  const { id } = submission.entry;
  const key = planKey(id, session.fingerprints);
  try {
    const { path, body } = await requestFor(session, submission, tracking.runs);
    let run = await session.api<TrackedRun>('POST', path, body, { 'Idempotency-Key': key });
    for (let attempt = 1; attempt <= retryFailed && isFailed(run.status); attempt += 1) {
      session.log(`${id}: run ${run.id.slice(0, 8)} ${run.status}${run.error ? ` (${run.error})` : ''}; retry ${attempt}`);
      run = await session.api<TrackedRun>('POST', path, body, { 'Idempotency-Key': `${key}-retry-${attempt}` });
    }
    tracking.runs.set(id, run);
    tracking.refused.delete(id);
  } catch (error) {
    tracking.refused.set(id, error instanceof Error ? error.message : String(error));
  }
}

/**
 * Makes sure every entry of `entries` has a run: finds what earlier invocations submitted,
 * submits what the slots allow (report-schedule.ts), polls, and repeats until nothing is left
 * to wait for (or once, without `wait`). Returns each entry's newest run and the refusals.
 */
export async function ensureRuns(
  session: ReportSession,
  entries: PlanEntries,
  options: SubmissionOptions,
): Promise<{ runs: Map<string, StoredRun>; refused: Map<string, string> }> {
  const tracking: Tracking = { runs: new Map(), refused: new Map() };
  const ids = [...entries.trainings.map((t) => t.id), ...entries.evaluations.map((e) => e.id)];
  await adoptSubmitted(
    session,
    ids.filter((id) => !options.heldBack.has(id)),
    tracking,
  );
  const shown = new Map<string, string>();
  for (;;) {
    const tried = new Set<string>();
    for (;;) {
      const next = nextSubmission(entries, scheduleState(tracking, options), options.slots, tried);
      if (!next) break;
      tried.add(next.entry.id);
      await submit(session, next, tracking, options.retryFailed);
    }
    for (const [id, run] of tracking.runs) {
      if (!isTerminal(run.status)) tracking.runs.set(id, await session.api<TrackedRun>('GET', `/runs/${run.id}`));
    }
    const state = scheduleState(tracking, options);
    for (const id of ids) {
      const line = entryStatus(session.plan, id, state);
      const run = tracking.runs.get(id);
      if (shown.get(id) !== line) session.log(`${new Date().toISOString().slice(11, 19)} ${id.padEnd(34)} ${line}${run ? ` (${run.id.slice(0, 8)})` : ''}`);
      shown.set(id, line);
    }
    if (!awaitedEntries(session.plan, ids, state).length || !options.wait) return tracking;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
