import { createHash } from 'node:crypto';
import { EVALUATIONS, evaluationBody, PlannedEvaluation, PlannedTraining, TRAININGS } from './plan';

/** The source run id in an evaluation body when fingerprinting it (the real one is only known once trained). */
const SOURCE_PLACEHOLDER = '<source run>';

/** JSON with sorted keys: a fingerprint depends on the content, not on how a literal is written. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const digest = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);

/**
 * Per plan entry, a digest of everything that decides what it measures: a training's body and
 * its parent's fingerprint; an evaluation's body and its source's. Two entries with the same
 * fingerprint measure the same thing, so a stored result can stand for it (report-store.ts).
 * The digest names the fields it covers, so the documentation beside them (rationale, study)
 * can change without invalidating a stored result.
 */
export function planFingerprints(trainings: PlannedTraining[] = TRAININGS, evaluations: PlannedEvaluation[] = EVALUATIONS): Map<string, string> {
  const prints = new Map<string, string>();
  const trainingPrint = (id: string): string => {
    const known = prints.get(id);
    if (known) return known;
    const training = trainings.find((t) => t.id === id);
    if (!training) throw new Error(`plan: no training '${id}'`);
    const parent = training.parent && { field: training.parent.field, fingerprint: trainingPrint(training.parent.plan) };
    const print = digest({ body: training.body, parent });
    prints.set(id, print);
    return print;
  };
  trainings.forEach((t) => trainingPrint(t.id));
  for (const evaluation of evaluations) {
    prints.set(evaluation.id, digest({ body: evaluationBody(evaluation, SOURCE_PLACEHOLDER), source: trainingPrint(evaluation.source) }));
  }
  return prints;
}

/** A plan entry's fingerprint, from planFingerprints of the whole plan: an id it lacks is not in the plan. */
export function fingerprintOf(id: string, fingerprints: Map<string, string>): string {
  const print = fingerprints.get(id);
  if (!print) throw new Error(`plan: no entry '${id}'`);
  return print;
}

/** The Idempotency-Key of a plan entry: its id and fingerprint. */
export function planKey(id: string, fingerprints: Map<string, string>): string {
  return `${id}-${fingerprintOf(id, fingerprints)}`;
}
