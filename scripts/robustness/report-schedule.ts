import type { PlannedEvaluation, PlannedTraining } from './plan';

/**
 * What to submit next and what to wait for, as pure functions of the plan and of what this
 * invocation knows of each entry's run: the command (report.ts) does the I/O and asks again
 * after every submission and every poll.
 */

/** A set of plan entries: the whole plan, or what one invocation works on. */
export interface PlanEntries {
  trainings: PlannedTraining[];
  evaluations: PlannedEvaluation[];
}

/** An entry's run as far as scheduling goes (GET /runs/:id has more). */
export interface RunState {
  id: string;
  status: string;
  /** Fraction done, for a running job. */
  progress?: number;
}

/** What an invocation knows while it submits and polls. */
export interface ScheduleState {
  /** Plan id → its newest known run. */
  runs: ReadonlyMap<string, RunState>;
  /** Entries --hold leaves for a later sitting, with what builds on them (heldBackBy). */
  heldBack: ReadonlySet<string>;
  /** Entries whose last submission the API refused, with its reason (tried again on the next poll). */
  refused: ReadonlyMap<string, string>;
}

/** Jobs kept queued or running at once per queue: the cluster's slots for each. */
export interface Slots {
  training: number;
  evaluation: number;
}

export type Submission = { kind: 'training'; entry: PlannedTraining } | { kind: 'evaluation'; entry: PlannedEvaluation };

export const isTerminal = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);
export const isFailed = (status: string) => ['failed', 'cancelled'].includes(status);

/** The plan entry an entry builds on: a training's parent, an evaluation's source. */
export function dependencyOf(plan: PlanEntries, id: string): string | undefined {
  return plan.trainings.find((t) => t.id === id)?.parent?.plan ?? plan.evaluations.find((e) => e.id === id)?.source;
}

/** The trainings `evaluations` need: their sources and, transitively, the runs those build on. */
export function trainingsFor(plan: PlanEntries, evaluations: PlannedEvaluation[]): PlannedTraining[] {
  const needed = new Set<string>();
  const add = (id: string) => {
    needed.add(id);
    const parent = plan.trainings.find((t) => t.id === id)?.parent;
    if (parent) add(parent.plan);
  };
  evaluations.forEach((e) => add(e.source));
  return plan.trainings.filter((t) => needed.has(t.id));
}

/** The entries an invocation needs: the whole plan, or --only's evaluations and the trainings they need. */
export function selectEntries(plan: PlanEntries, only: string[] | undefined): PlanEntries {
  if (!only) return plan;
  const unknown = only.filter((id) => !plan.evaluations.some((e) => e.id === id));
  if (unknown.length) throw new Error(`--only: unknown evaluation(s) ${unknown.join(', ')}; known: ${plan.evaluations.map((e) => e.id).join(', ')}`);
  const evaluations = plan.evaluations.filter((e) => only.includes(e.id));
  return { trainings: trainingsFor(plan, evaluations), evaluations };
}

/** Throws, naming them, when --hold names entries the plan does not have. */
export function checkHeld(plan: PlanEntries, held: string[]): void {
  const unknown = held.filter((id) => !plan.trainings.some((t) => t.id === id) && !plan.evaluations.some((e) => e.id === id));
  if (unknown.length) throw new Error(`--hold: unknown plan entr${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}`);
}

/**
 * What an invocation leaves alone because of --hold: the held entries and what builds on them.
 * A training only held evaluations need is still trained unless held itself: an earlier
 * invocation may have started it, and a running training is kept in the store.
 */
export function heldBackBy(plan: PlanEntries, entries: PlanEntries, held: ReadonlySet<string>): Set<string> {
  const upstreamHeld = (id: string): boolean => {
    if (held.has(id)) return true;
    const source = dependencyOf(plan, id);
    return source !== undefined && upstreamHeld(source);
  };
  return new Set([...entries.trainings, ...entries.evaluations].map((entry) => entry.id).filter(upstreamHeld));
}

/** Why an entry cannot finish, if it cannot: its run, or one it depends on, failed or was cancelled. */
export function blockedBy(plan: PlanEntries, id: string, runs: ReadonlyMap<string, RunState>): string | undefined {
  const run = runs.get(id);
  if (run && isFailed(run.status)) return `${id} ${run.status}`;
  const dependency = dependencyOf(plan, id);
  return dependency ? blockedBy(plan, dependency, runs) : undefined;
}

/** An evaluation's priority class: its wave (default 1), curve-only points last (3). */
export const waveOf = (evaluation: PlannedEvaluation): number => (evaluation.curveOnly ? 3 : (evaluation.wave ?? 1));

/**
 * Ready evaluations in the order to submit them as slots free up: lowest wave first, then plan
 * order. A job queue runs in submission order, so what is submitted early runs early whatever
 * its priority: submitting only while a slot is free makes a table row wait for at most the
 * evaluations already running, not for every long one that happened to be ready before it.
 */
export function byPriority(ready: PlannedEvaluation[], plan: PlannedEvaluation[]): PlannedEvaluation[] {
  const order = (e: PlannedEvaluation) => plan.indexOf(e);
  return [...ready].sort((a, b) => waveOf(a) - waveOf(b) || order(a) - order(b));
}

/**
 * The entry to submit next, if any: a training in plan order while a training slot is free
 * (what is not yet submitted can still be re-planned without a stale job in the queue), then
 * the ready evaluation of highest priority while an evaluation slot is free. Ask again after
 * each submission: one the database already holds as finished frees its slot at once. `tried`
 * are the entries submitted or refused since the last poll, not offered twice in one pass.
 */
export function nextSubmission(entries: PlanEntries, state: ScheduleState, slots: Slots, tried: ReadonlySet<string>): Submission | undefined {
  const { runs, heldBack } = state;
  const succeeded = (id: string) => runs.get(id)?.status === 'succeeded';
  const inFlight = (ids: string[]) =>
    ids.filter((id) => {
      const run = runs.get(id);
      return run !== undefined && !isTerminal(run.status);
    }).length;
  const open = (id: string) => !heldBack.has(id) && !runs.has(id) && !tried.has(id);

  if (inFlight(entries.trainings.map((t) => t.id)) < slots.training) {
    const training = entries.trainings.find((t) => open(t.id) && (!t.parent || succeeded(t.parent.plan)));
    if (training) return { kind: 'training', entry: training };
  }
  if (inFlight(entries.evaluations.map((e) => e.id)) < slots.evaluation) {
    const ready = entries.evaluations.filter((e) => open(e.id) && succeeded(e.source));
    const evaluation = byPriority(ready, entries.evaluations).at(0);
    if (evaluation) return { kind: 'evaluation', entry: evaluation };
  }
  return undefined;
}

/** One entry's state in words, for the progress log. */
export function entryStatus(plan: PlanEntries, id: string, state: ScheduleState): string {
  const run = state.runs.get(id);
  if (run) return `${run.status}${run.status === 'running' ? ` ${Math.floor((run.progress ?? 0) * 100)}%` : ''}`;
  const refusal = state.refused.get(id);
  if (refusal !== undefined) return `refused: ${refusal}`;
  if (state.heldBack.has(id)) return 'held (--hold)';
  const source = dependencyOf(plan, id);
  return source === undefined || state.runs.get(source)?.status === 'succeeded' ? 'waiting for a slot' : 'waiting for its source';
}

/**
 * The entries the command still waits for: not finished, not blocked by a failure, not held,
 * and not refused (a refused entry does not keep it waiting once everything else is done).
 */
export function awaitedEntries(plan: PlanEntries, ids: string[], state: ScheduleState): string[] {
  return ids.filter((id) => {
    const run = state.runs.get(id);
    return !(run && isTerminal(run.status)) && !blockedBy(plan, id, state.runs) && !state.refused.has(id) && !state.heldBack.has(id);
  });
}

/** The report's "not measured (yet)" lines: every entry of `entries` that has not succeeded, and why. */
export function pendingEntries(plan: PlanEntries, entries: PlanEntries, state: ScheduleState): string[] {
  const why = (id: string): string => {
    const blocked = blockedBy(plan, id, state.runs);
    if (blocked) return `blocked (${blocked})`;
    const refusal = state.refused.get(id);
    if (refusal !== undefined) return `refused by the API (${refusal})`;
    if (state.heldBack.has(id)) return 'held (--hold)';
    return state.runs.get(id)?.status ?? 'waiting for the run it needs';
  };
  return [...entries.trainings, ...entries.evaluations]
    .map((entry) => entry.id)
    .filter((id) => state.runs.get(id)?.status !== 'succeeded')
    .map((id) => `${id}: ${why(id)}`);
}
