import { readFile, writeFile } from 'node:fs/promises';
import type { PlannedEvaluation, PlannedTraining } from './plan';
import type { CurvePoint, StoredEvaluation, StoredRun, StoredTraining } from './report-rows';

/**
 * The report's own record of what it measured: the stored runs and evaluations it read from the
 * API, as it read them, each with its plan entry's fingerprint. Committed next to the report, it
 * outlives the database (a fresh machine starts with an empty one): the next `npm run
 * report:robustness` takes every entry whose fingerprint still matches the plan from here and
 * measures only what changed or is missing, so a plan larger than one sitting can be completed
 * over several, and every row still comes from a run and an evaluation made through the API.
 * Checkpoints are not kept: an evaluation added later for a stored training retrains it.
 */
export const STORE_FORMAT = 'bulwark-robustness-store/1';

export interface StoredTrainingRecord {
  plan: string;
  fingerprint: string;
  run: StoredRun;
  epochSeconds: number[];
  epochCpuSeconds: number[];
}

export interface StoredEvaluationRecord {
  plan: string;
  fingerprint: string;
  run: StoredRun;
  curve: CurvePoint[];
  adaptiveCurve: CurvePoint[] | null;
}

export interface ReportStore {
  format: typeof STORE_FORMAT;
  trainings: StoredTrainingRecord[];
  evaluations: StoredEvaluationRecord[];
}

export const emptyStore = (): ReportStore => ({ format: STORE_FORMAT, trainings: [], evaluations: [] });

/** The store at `path`; an empty one when there is no such file. */
export async function readStore(path: string): Promise<ReportStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyStore();
    throw error;
  }
  const store = JSON.parse(text) as ReportStore;
  if (store.format !== STORE_FORMAT || !Array.isArray(store.trainings) || !Array.isArray(store.evaluations)) {
    throw new Error(`${path} is not a report store of format ${STORE_FORMAT} (run with --fresh to measure everything again)`);
  }
  return store;
}

export async function writeStore(path: string, store: ReportStore): Promise<void> {
  await writeFile(path, `${JSON.stringify(store, null, 1)}\n`);
}

/**
 * What the store holds of the plan: trainings whose fingerprint matches, and evaluations whose
 * fingerprint matches and whose source training (with every run it builds on) is held too, so
 * their rows can be built as from the API.
 */
export function carriedFromStore(
  store: ReportStore,
  trainings: PlannedTraining[],
  evaluations: PlannedEvaluation[],
  fingerprints: Map<string, string>,
): { trainings: StoredTraining[]; evaluations: StoredEvaluation[] } {
  const current = <T extends { plan: string; fingerprint: string }>(record: T) => fingerprints.get(record.plan) === record.fingerprint;
  // In plan order, as the API path gives them (rows follow their evaluations' order).
  const carried = new Map<string, StoredTraining>();
  for (const plan of trainings) {
    const record = store.trainings.find((r) => r.plan === plan.id && current(r));
    if (record) carried.set(plan.id, { plan, run: record.run, epochSeconds: record.epochSeconds, epochCpuSeconds: record.epochCpuSeconds });
  }
  // A training whose parent is not held cannot say what it cost: drop it (and what builds on it).
  const complete = (id: string): boolean => {
    const training = carried.get(id);
    if (!training) return false;
    const parent = training.plan.parent;
    if (!parent) return true;
    if (!complete(parent.plan)) return false;
    training.parent = carried.get(parent.plan);
    return true;
  };
  const heldTrainings = [...carried.keys()].filter(complete).map((id) => carried.get(id)!);
  const heldEvaluations: StoredEvaluation[] = [];
  for (const plan of evaluations) {
    const record = store.evaluations.find((r) => r.plan === plan.id && current(r));
    if (record && heldTrainings.some((t) => t.plan.id === plan.source)) {
      heldEvaluations.push({ plan, run: record.run, curve: record.curve, adaptiveCurve: record.adaptiveCurve });
    }
  }
  return { trainings: heldTrainings, evaluations: heldEvaluations };
}

/** The store to write: every succeeded training and evaluation of the plan, with its fingerprint. */
export function storeOf(trainings: StoredTraining[], evaluations: StoredEvaluation[], fingerprints: Map<string, string>): ReportStore {
  const fingerprint = (id: string) => fingerprints.get(id)!;
  const byPlan = <T extends { plan: { id: string } }>(a: T, b: T) => (a.plan.id < b.plan.id ? -1 : a.plan.id > b.plan.id ? 1 : 0);
  return {
    format: STORE_FORMAT,
    trainings: trainings
      .filter((t) => t.run.status === 'succeeded')
      .sort(byPlan)
      .map((t) => ({ plan: t.plan.id, fingerprint: fingerprint(t.plan.id), run: t.run, epochSeconds: t.epochSeconds, epochCpuSeconds: t.epochCpuSeconds })),
    evaluations: evaluations
      .filter((e) => e.run.status === 'succeeded')
      .sort(byPlan)
      .map((e) => ({ plan: e.plan.id, fingerprint: fingerprint(e.plan.id), run: e.run, curve: e.curve, adaptiveCurve: e.adaptiveCurve })),
  };
}
