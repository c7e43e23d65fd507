import type { PlannedEvaluation } from './plan';

/** An evaluation's priority class: its wave (default 1), curve-only points last (3). */
export const waveOf = (evaluation: PlannedEvaluation): number => (evaluation.curveOnly ? 3 : evaluation.wave ?? 1);

/**
 * The ready evaluations to submit now, highest priority first (lowest wave, then plan order),
 * no more than the free slots: a job queue runs in submission order, so what is submitted
 * early runs early whatever its priority, and a table row should wait for at most the
 * evaluations already running, not for every long one that happened to be ready before it.
 */
export function evaluationsToSubmit(ready: PlannedEvaluation[], plan: PlannedEvaluation[], inFlight: number, slots: number): PlannedEvaluation[] {
  const order = (e: PlannedEvaluation) => plan.indexOf(e);
  return [...ready].sort((a, b) => waveOf(a) - waveOf(b) || order(a) - order(b)).slice(0, Math.max(0, slots - inFlight));
}
