import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PlannedEvaluation, PlannedTraining } from './plan';
import { fingerprintOf } from './plan-fingerprint';
import type { CurvePoint, StoredEvaluation, StoredRun, StoredTraining } from './report-rows';
import type { PlanEntries } from './report-schedule';

/**
 * The report's own record of what it measured: the stored runs and evaluations it read from the
 * API, as it read them, each with its plan entry's fingerprint. Committed next to the report, it
 * outlives the database (a fresh machine starts with an empty one): the next `npm run
 * report:robustness` takes every entry whose fingerprint still matches the plan from here and
 * measures only what changed or is missing, so a plan larger than one sitting can be completed
 * over several, and every row still comes from a run and an evaluation made through the API.
 * Checkpoints of finished runs are not kept (an evaluation added later for a stored training
 * retrains it); a training still running when the report was written is kept as its newest
 * checkpoint and metrics (`inProgress`), and the next invocation resumes it there through
 * POST /runs/resume instead of starting it over: a run longer than one sitting.
 */
export const STORE_FORMAT = 'bulwark-robustness-store/1';

export interface StoredTrainingRecord {
  plan: string;
  fingerprint: string;
  run: StoredRun;
  epochSeconds: number[];
  epochCpuSeconds: number[];
  finalCheckpoint?: { epoch: number; sha256: string };
}

export interface StoredEvaluationRecord {
  plan: string;
  fingerprint: string;
  run: StoredRun;
  curve: CurvePoint[];
  adaptiveCurve: CurvePoint[] | null;
}

/** A planned training that had not finished: where to resume it. */
export interface InProgressRecord {
  plan: string;
  fingerprint: string;
  /** Its newest checkpoint; the bytes are `file`, in checkpointFolder(store path). */
  checkpoint: { epoch: number; sha256: string; format: string; file: string };
  /** Its metric points up to that epoch. */
  metrics: Array<{ key: string; step: number; value: number }>;
}

export interface ReportStore {
  format: typeof STORE_FORMAT;
  trainings: StoredTrainingRecord[];
  evaluations: StoredEvaluationRecord[];
  inProgress?: InProgressRecord[];
}

/** Where a store keeps the checkpoints of its in-progress trainings: a folder beside it, named after it. */
export function checkpointFolder(storePath: string): string {
  return join(dirname(storePath), basename(storePath).replace(/\.json$/, ''));
}

/**
 * The POST /runs/resume body of a planned training the store holds in progress (with the same
 * fingerprint); undefined when it holds none, or its checkpoint file is missing or damaged
 * (said through `log`; the training then starts over).
 */
export async function resumeBodyFor(
  store: ReportStore,
  storePath: string,
  training: PlannedTraining,
  fingerprints: Map<string, string>,
  log: (line: string) => void,
): Promise<Record<string, unknown> | undefined> {
  const record = store.inProgress?.find((r) => r.plan === training.id && r.fingerprint === fingerprints.get(training.id));
  if (!record || training.parent) return undefined;
  const path = join(checkpointFolder(storePath), record.checkpoint.file);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    log(`${training.id}: ${path} is missing; starting over`);
    return undefined;
  }
  if (createHash('sha256').update(data).digest('hex') !== record.checkpoint.sha256) {
    log(`${training.id}: ${path} does not match its SHA-256; starting over`);
    return undefined;
  }
  const { epoch, sha256, format } = record.checkpoint;
  return { run: training.body, checkpoint: { epoch, sha256, format, data: data.toString('base64') }, metrics: record.metrics };
}

/** The checkpoint of the highest epoch; undefined for none. */
export function newestCheckpoint<C extends { epoch: number }>(checkpoints: C[]): C | undefined {
  return checkpoints.length ? checkpoints.reduce((a, b) => (b.epoch > a.epoch ? b : a)) : undefined;
}

/**
 * Which checkpoint of a planned training the store should keep, if any: a run still queued or
 * running keeps its newest; a finished one whose evaluations have not all run keeps its newest
 * before the last epoch (POST /runs/resume only continues a run; training is deterministic,
 * so re-running that epoch gives the same model); anything else keeps none.
 */
export function checkpointToCarry<C extends { epoch: number }>(
  run: { status: string; spec: Record<string, unknown> },
  checkpoints: C[],
  awaitsEvaluation: boolean,
): C | undefined {
  const finished = run.status === 'succeeded';
  if (finished ? !awaitsEvaluation : ['failed', 'cancelled'].includes(run.status)) return undefined;
  const epochs = Number(run.spec.epochs);
  const candidates = finished ? checkpoints.filter((c) => c.epoch < epochs) : checkpoints;
  return newestCheckpoint(candidates);
}

/** Writes each in-progress checkpoint into the store's folder and removes the files no record names. */
export async function writeInProgress(storePath: string, records: Array<{ record: InProgressRecord; data: Buffer }>): Promise<void> {
  const folder = checkpointFolder(storePath);
  await mkdir(folder, { recursive: true });
  for (const { record, data } of records) await writeFile(join(folder, record.checkpoint.file), data);
  const kept = new Set(records.map(({ record }) => record.checkpoint.file));
  for (const file of await readdir(folder)) {
    if (!kept.has(file)) await rm(join(folder, file));
  }
}

/**
 * The store's in-progress trainings this invocation did not touch: still needed by the plan,
 * current (same fingerprint) and not submitted (held back with --hold, say), each with its
 * checkpoint bytes. Written back with the new ones, so holding a training another sitting is
 * to resume does not drop its checkpoint; a record whose file is gone is dropped.
 */
export async function untouchedInProgress(
  store: ReportStore,
  storePath: string,
  needed: string[],
  submitted: Set<string>,
  fingerprints: Map<string, string>,
): Promise<Array<{ record: InProgressRecord; data: Buffer }>> {
  const kept: Array<{ record: InProgressRecord; data: Buffer }> = [];
  for (const record of store.inProgress ?? []) {
    if (submitted.has(record.plan) || !needed.includes(record.plan) || fingerprints.get(record.plan) !== record.fingerprint) continue;
    try {
      kept.push({ record, data: await readFile(join(checkpointFolder(storePath), record.checkpoint.file)) });
    } catch {
      // Nothing to resume from: the training starts over next time.
    }
  }
  return kept;
}

export const emptyStore = (): ReportStore => ({ format: STORE_FORMAT, trainings: [], evaluations: [], inProgress: [] });

/** The store at `path`; an empty one when there is no such file. */
export async function readStore(path: string): Promise<ReportStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyStore();
    throw error;
  }
  // Trusted as the generator wrote it once its format and record lists check out.
  const store = JSON.parse(text) as Partial<Record<keyof ReportStore, unknown>>;
  if (store.format !== STORE_FORMAT || !Array.isArray(store.trainings) || !Array.isArray(store.evaluations)) {
    throw new Error(`${path} is not a report store of format ${STORE_FORMAT} (run with --fresh to measure everything again)`);
  }
  return store as ReportStore;
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
  const current = (record: { plan: string; fingerprint: string }) => fingerprints.get(record.plan) === record.fingerprint;
  // In plan order, as the API path gives them (rows follow their evaluations' order).
  const carried = new Map<string, StoredTraining>();
  for (const plan of trainings) {
    const record = store.trainings.find((r) => r.plan === plan.id && current(r));
    if (record) {
      const { run, epochSeconds, epochCpuSeconds, finalCheckpoint } = record;
      carried.set(plan.id, { plan, run, epochSeconds, epochCpuSeconds, ...(finalCheckpoint && { finalCheckpoint }) });
    }
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
  const heldTrainings = [...carried.values()].filter((training) => complete(training.plan.id));
  const heldEvaluations: StoredEvaluation[] = [];
  for (const plan of evaluations) {
    const record = store.evaluations.find((r) => r.plan === plan.id && current(r));
    if (record && heldTrainings.some((t) => t.plan.id === plan.source)) {
      heldEvaluations.push({ plan, run: record.run, curve: record.curve, adaptiveCurve: record.adaptiveCurve });
    }
  }
  return { trainings: heldTrainings, evaluations: heldEvaluations };
}

/** The store to write: every succeeded training and evaluation of the plan, with its fingerprint, and the trainings in progress. */
export function storeOf(
  trainings: StoredTraining[],
  evaluations: StoredEvaluation[],
  fingerprints: Map<string, string>,
  inProgress: InProgressRecord[] = [],
): ReportStore {
  const fingerprint = (id: string) => fingerprintOf(id, fingerprints);
  const byPlan = <T extends { plan: { id: string } }>(a: T, b: T) => (a.plan.id < b.plan.id ? -1 : a.plan.id > b.plan.id ? 1 : 0);
  return {
    format: STORE_FORMAT,
    trainings: trainings
      .filter((t) => t.run.status === 'succeeded')
      .sort(byPlan)
      .map((t) => ({
        plan: t.plan.id,
        fingerprint: fingerprint(t.plan.id),
        run: t.run,
        epochSeconds: t.epochSeconds,
        epochCpuSeconds: t.epochCpuSeconds,
        ...(t.finalCheckpoint && { finalCheckpoint: t.finalCheckpoint }),
      })),
    evaluations: evaluations
      .filter((e) => e.run.status === 'succeeded')
      .sort(byPlan)
      .map((e) => ({ plan: e.plan.id, fingerprint: fingerprint(e.plan.id), run: e.run, curve: e.curve, adaptiveCurve: e.adaptiveCurve })),
    inProgress,
  };
}

/** Carried and freshly read records together, in plan order; a fresh reading wins, and parents are linked across both. */
export function mergeStored(
  plan: PlanEntries,
  carried: { trainings: StoredTraining[]; evaluations: StoredEvaluation[] },
  fetched: { trainings: StoredTraining[]; evaluations: StoredEvaluation[] },
): { trainings: StoredTraining[]; evaluations: StoredEvaluation[] } {
  const trainings = new Map<string, StoredTraining>();
  for (const training of [...carried.trainings, ...fetched.trainings]) trainings.set(training.plan.id, training);
  for (const training of trainings.values()) {
    if (training.plan.parent) training.parent = trainings.get(training.plan.parent.plan);
  }
  const evaluations = new Map<string, StoredEvaluation>();
  for (const evaluation of [...carried.evaluations, ...fetched.evaluations]) evaluations.set(evaluation.plan.id, evaluation);
  const inPlanOrder = <T extends { plan: { id: string } }>(items: Iterable<T>, order: Array<{ id: string }>) =>
    [...items].sort((a, b) => order.findIndex((p) => p.id === a.plan.id) - order.findIndex((p) => p.id === b.plan.id));
  return { trainings: inPlanOrder(trainings.values(), plan.trainings), evaluations: inPlanOrder(evaluations.values(), plan.evaluations) };
}
