import type { PlannedEvaluation } from './plan';

/** An evaluation's priority class: its wave (default 1), curve-only points last (3). */
export const waveOf = (evaluation: PlannedEvaluation): number => (evaluation.curveOnly ? 3 : evaluation.wave ?? 1);

/**
 * Ready evaluations in the order to submit them as slots free up: lowest wave first, then plan
 * order. A job queue runs in submission order, so what is submitted early runs early whatever
 * its priority: report.ts submits from this list only while a slot is free (an evaluation the
 * database already holds as finished takes none), so a table row waits for at most the
 * evaluations already running, not for every long one that happened to be ready before it.
 */
export function byPriority(ready: PlannedEvaluation[], plan: PlannedEvaluation[]): PlannedEvaluation[] {
  const order = (e: PlannedEvaluation) => plan.indexOf(e);
  return [...ready].sort((a, b) => waveOf(a) - waveOf(b) || order(a) - order(b));
}
