/**
 * `npm run report:robustness`: makes sure every run and evaluation of the plan exists
 * (submitting what is missing over the API, with fixed idempotency keys), waits for them and
 * writes docs/robustness.{json,md} and the curve figures from what is stored.
 *
 *   node dist/scripts/robustness/report.js [--api URL] [--only id,id] [--no-wait] [--fresh] [--out docs] [--store file]
 *     [--training-slots N] [--evaluation-slots N] [--retry-failed N] [--hold id,id]
 *
 * The store (default <out>/robustness-store.json, see report-store.ts) holds what earlier
 * invocations measured: entries whose fingerprint still matches the plan come from it, only
 * the rest is measured, and the store is written back with everything the report used.
 * --only: just those evaluations (and the runs they need), measured anew; prints their rows, writes nothing.
 * --no-wait: submit what can be submitted, then write the report from what has finished.
 * --fresh: ignore the store and measure every entry.
 * --training-slots, --evaluation-slots: jobs kept queued or running at once (default 2 each, the
 *   two slots per queue report.sh's worker has); the rest waits here, by priority.
 * --hold id,id: plan entries not to submit this time (and what builds on them); reported as held.
 * --retry-failed N: a planned item whose stored run failed or was cancelled is submitted again
 *   (up to N times, each under a numbered Idempotency-Key); without it the item is reported blocked.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiClient } from '../lib/api-client';
import { curveSeries, curveSvg } from './curve-figure';
import { EVALUATIONS, PlannedEvaluation, PlannedTraining, TRAININGS, evaluationBody, planFingerprints, planKey, trainingsFor } from './plan';
import { buildRows, CurvePoint, StoredEvaluation, StoredRun, StoredTraining } from './report-rows';
import { reportMarkdown } from './report-markdown';
import { byPriority } from './report-schedule';
import { carriedFromStore, checkpointToCarry, emptyStore, InProgressRecord, newestCheckpoint, readStore, ReportStore, resumeBodyFor, storeOf, untouchedInProgress, writeInProgress, writeStore } from './report-store';
import { checkTargets } from './report-targets';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const POLL_MS = 15_000;

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function positiveInteger(name: string, fallback: number): number {
  const text = argument(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return value;
}

const base = argument('api') ?? process.env.BULWARK_API ?? 'http://127.0.0.1:3000';
const outDir = argument('out') ?? 'docs';
const only = argument('only')?.split(',').filter(Boolean);
const wait = !process.argv.includes('--no-wait');
const fresh = process.argv.includes('--fresh');
/** Jobs this invocation keeps queued or running at once per queue: the cluster's slots for each. */
const trainingSlots = positiveInteger('training-slots', 2);
const evaluationSlots = positiveInteger('evaluation-slots', 2);
/**
 * Plan entries this invocation does not submit (for instance a long evaluation a small machine
 * should leave to a later sitting); reported as held, with everything that builds on them.
 */
const held = new Set(argument('hold')?.split(',').filter(Boolean) ?? []);
/** Attempts at a planned item whose stored run failed or was cancelled (0: report it as blocked). */
const retryFailed = process.argv.includes('--retry-failed') ? positiveInteger('retry-failed', 1) : 0;
const storePath = argument('store') ?? join(outDir, 'robustness-store.json');
const fingerprints = planFingerprints();
/** What earlier invocations measured (main reads it; empty for --only and --fresh). */
let store: ReportStore = emptyStore();
const api = apiClient(base);


/** The plan entries this invocation needs: everything, or --only's evaluations and their sources (and their parents). */
function selectPlan(): { trainings: PlannedTraining[]; evaluations: PlannedEvaluation[] } {
  if (!only) return { trainings: TRAININGS, evaluations: EVALUATIONS };
  const unknown = only.filter((id) => !EVALUATIONS.some((e) => e.id === id));
  if (unknown.length) throw new Error(`--only: unknown evaluation(s) ${unknown.join(', ')}; known: ${EVALUATIONS.map((e) => e.id).join(', ')}`);
  const evaluations = EVALUATIONS.filter((e) => only.includes(e.id));
  return { trainings: trainingsFor(evaluations), evaluations };
}

const idempotencyKey = (planId: string) => planKey(planId, fingerprints);

/**
 * Submits what can be submitted now into `runs` (plan id → stored run). A refused submission
 * (e.g. an API too old for a field) is kept in `refused` and retried on the next poll, so the
 * rest of the plan goes on.
 */
async function submitReady(trainings: PlannedTraining[], evaluations: PlannedEvaluation[], runs: Map<string, StoredRun>, refused: Map<string, string>): Promise<void> {
  const succeeded = (planId: string) => runs.get(planId)?.status === 'succeeded';
  const inFlight = (ids: string[]) => ids.filter((id) => runs.has(id) && !TERMINAL.includes(runs.get(id)!.status)).length;
  const submit = async (planId: string, path: string, body: () => Promise<Record<string, unknown>>) => {
    try {
      const payload = await body();
      let run = await api<StoredRun>('POST', path, payload, { 'Idempotency-Key': idempotencyKey(planId) });
      // The key finds a run an earlier invocation saw fail or be cancelled: with --retry-failed,
      // a new attempt under a numbered key (the next invocation finds that one again).
      for (let attempt = 1; attempt <= retryFailed && ['failed', 'cancelled'].includes(run.status); attempt += 1) {
        const reason = (run as StoredRun & { error?: string | null }).error;
        console.log(`${planId}: run ${run.id.slice(0, 8)} ${run.status}${reason ? ` (${reason})` : ''}; retry ${attempt}`);
        run = await api<StoredRun>('POST', path, payload, { 'Idempotency-Key': `${idempotencyKey(planId)}-retry-${attempt}` });
      }
      runs.set(planId, run);
      refused.delete(planId);
    } catch (error) {
      refused.set(planId, error instanceof Error ? error.message : String(error));
    }
  };
  // At most trainingSlots trainings queued or running at once, in plan order: what is not yet
  // submitted can still be re-planned (a new fingerprint) without a stale job in the queue.
  for (const training of trainings) {
    if (inFlight(trainings.map((t) => t.id)) >= trainingSlots) break;
    const parent = training.parent;
    if (heldBack.has(training.id) || runs.has(training.id) || (parent && !succeeded(parent.plan))) continue;
    const resume = await resumeBodyFor(store, storePath, training, fingerprints, (line) => console.log(line));
    if (resume) {
      console.log(`${training.id}: resuming after epoch ${(resume.checkpoint as { epoch: number }).epoch} from the store`);
      await submit(training.id, '/runs/resume', async () => resume);
      continue;
    }
    await submit(training.id, '/runs', async () => {
      if (!parent) return training.body;
      const { items } = await api<{ items: Array<{ id: string; epoch: number }> }>('GET', `/runs/${runs.get(parent.plan)!.id}/checkpoints`);
      return { ...training.body, [parent.field]: newestCheckpoint(items)!.id };
    });
  }
  // Evaluations by priority, a free slot at a time (report-schedule.ts).
  const ready = evaluations.filter((e) => !heldBack.has(e.id) && !runs.has(e.id) && succeeded(e.source));
  for (const evaluation of byPriority(ready, evaluations)) {
    // Checked after each submission: one the database already holds as finished frees its slot at once.
    if (inFlight(evaluations.map((e) => e.id)) >= evaluationSlots) break;
    await submit(evaluation.id, '/evaluations', async () => evaluationBody(evaluation, runs.get(evaluation.source)!.id));
  }
}

/** The plan entry an entry builds on: a training's parent, an evaluation's source. */
const dependencyOf = (planId: string): string | undefined =>
  TRAININGS.find((t) => t.id === planId)?.parent?.plan ?? EVALUATIONS.find((e) => e.id === planId)?.source;

/**
 * What this invocation leaves alone because of --hold: the held entries and what builds on them
 * (a training only held evaluations need is still trained unless held itself: an earlier
 * invocation may have started it, and a running training is kept in the store).
 */
function heldBackBy(trainings: PlannedTraining[], evaluations: PlannedEvaluation[]): Set<string> {
  const upstreamHeld = (id: string): boolean => {
    if (held.has(id)) return true;
    const source = dependencyOf(id);
    return source !== undefined && upstreamHeld(source);
  };
  return new Set([...trainings, ...evaluations].map((entry) => entry.id).filter(upstreamHeld));
}
let heldBack = new Set<string>();

/** Planned items that cannot finish: their run (or one they depend on) failed or was cancelled. */
function blockedBy(planId: string, runs: Map<string, StoredRun>): string | undefined {
  const run = runs.get(planId);
  if (run && ['failed', 'cancelled'].includes(run.status)) return `${planId} ${run.status}`;
  const dependency = dependencyOf(planId);
  return dependency ? blockedBy(dependency, runs) : undefined;
}

/**
 * The jobs an earlier invocation submitted and that are still queued, running or done, found
 * by their idempotency keys (GET /runs?idempotencyKey=, which submits nothing): they hold their
 * slots from the first poll, so a restarted command neither fills the slots with the next
 * entries while they run nor waits on slots for work already finished. A failed or cancelled
 * one is left to submitReady, which reports or retries it. An API without the filter refuses
 * the query: then every entry is found as before, when its turn to be submitted comes.
 */
async function adoptSubmitted(ids: string[], runs: Map<string, StoredRun>): Promise<void> {
  for (const id of ids.filter((planId) => !heldBack.has(planId))) {
    let found: StoredRun | undefined;
    try {
      ({ items: [found] } = await api<{ items: StoredRun[] }>('GET', `/runs?idempotencyKey=${encodeURIComponent(idempotencyKey(id))}&limit=1`));
    } catch (error) {
      console.log(`looking up earlier submissions: ${error instanceof Error ? error.message : String(error)}; each entry is found when it is submitted`);
      return;
    }
    if (found && !['failed', 'cancelled'].includes(found.status)) runs.set(id, found);
  }
}

async function ensurePlan(trainings: PlannedTraining[], evaluations: PlannedEvaluation[]): Promise<{ runs: Map<string, StoredRun>; refused: Map<string, string> }> {
  const runs = new Map<string, StoredRun>();
  const refused = new Map<string, string>();
  const ids = [...trainings.map((t) => t.id), ...evaluations.map((e) => e.id)];
  await adoptSubmitted(ids, runs);
  const shown = new Map<string, string>();
  const sourceReady = (id: string) => {
    const source = dependencyOf(id);
    return source === undefined || runs.get(source)?.status === 'succeeded';
  };
  for (;;) {
    await submitReady(trainings, evaluations, runs, refused);
    for (const [planId, run] of runs) {
      if (!TERMINAL.includes(run.status)) runs.set(planId, await api<StoredRun>('GET', `/runs/${run.id}`));
    }
    for (const id of ids) {
      const run = runs.get(id) as (StoredRun & { progress?: number }) | undefined;
      const line = run
        ? `${run.status}${run.status === 'running' ? ` ${Math.floor((run.progress ?? 0) * 100)}%` : ''}`
        : refused.has(id) ? `refused: ${refused.get(id)}` : heldBack.has(id) ? 'held (--hold)' : sourceReady(id) ? 'waiting for a slot' : 'waiting for its source';
      if (shown.get(id) !== line) console.log(`${new Date().toISOString().slice(11, 19)} ${id.padEnd(34)} ${line}${run ? ` (${run.id.slice(0, 8)})` : ''}`);
      shown.set(id, line);
    }
    // A refused item does not keep the command waiting once everything else is done.
    const open = ids.filter((id) => !(runs.get(id) && TERMINAL.includes(runs.get(id)!.status)) && !blockedBy(id, runs) && !refused.has(id) && !heldBack.has(id));
    if (!open.length || !wait) return { runs, refused };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function fetchStored(trainings: PlannedTraining[], evaluations: PlannedEvaluation[], runs: Map<string, StoredRun>) {
  const storedTrainings = new Map<string, StoredTraining>();
  for (const plan of trainings) {
    const run = runs.get(plan.id);
    if (!run) continue;
    const series = async (key: string) => {
      const { items } = await api<{ items: Array<{ step: number; value: number }> }>('GET', `/runs/${run.id}/metrics?key=${key}`);
      return items.sort((a, b) => a.step - b.step).map((m) => m.value);
    };
    const { items: checkpoints } = await api<{ items: Array<{ epoch: number; sha256: string }> }>('GET', `/runs/${run.id}/checkpoints`);
    const newest = newestCheckpoint(checkpoints);
    storedTrainings.set(plan.id, {
      plan,
      run,
      epochSeconds: await series('epoch_seconds'),
      epochCpuSeconds: await series('epoch_cpu_seconds'),
      ...(newest && { finalCheckpoint: { epoch: newest.epoch, sha256: newest.sha256 } }),
    });
  }
  for (const training of storedTrainings.values()) {
    if (training.plan.parent) training.parent = storedTrainings.get(training.plan.parent.plan);
  }
  const storedEvaluations: StoredEvaluation[] = [];
  for (const plan of evaluations) {
    const run = runs.get(plan.id);
    if (!run || run.status !== 'succeeded') continue;
    const view = await api<{ run: StoredRun; curve: CurvePoint[]; adaptiveCurve: CurvePoint[] | null }>('GET', `/evaluations/${run.id}`);
    storedEvaluations.push({ plan, run: view.run, curve: view.curve, adaptiveCurve: view.adaptiveCurve });
  }
  return { trainings: [...storedTrainings.values()], evaluations: storedEvaluations };
}

/** Carried and freshly read entries together, in plan order; a fresh reading wins, and parents are linked across both. */
function merge(carried: { trainings: StoredTraining[]; evaluations: StoredEvaluation[] }, fetched: { trainings: StoredTraining[]; evaluations: StoredEvaluation[] }) {
  const trainings = new Map<string, StoredTraining>();
  for (const training of [...carried.trainings, ...fetched.trainings]) trainings.set(training.plan.id, training);
  for (const training of trainings.values()) {
    if (training.plan.parent) training.parent = trainings.get(training.plan.parent.plan);
  }
  const evaluations = new Map<string, StoredEvaluation>();
  for (const evaluation of [...carried.evaluations, ...fetched.evaluations]) evaluations.set(evaluation.plan.id, evaluation);
  const inPlanOrder = <T extends { plan: { id: string } }>(items: Iterable<T>, order: Array<{ id: string }>) =>
    [...items].sort((a, b) => order.findIndex((p) => p.id === a.plan.id) - order.findIndex((p) => p.id === b.plan.id));
  return { trainings: inPlanOrder(trainings.values(), TRAININGS), evaluations: inPlanOrder(evaluations.values(), EVALUATIONS) };
}

/** A body of raw bytes from the API (a checkpoint file). */
async function download(path: string): Promise<Buffer> {
  const res = await fetch(`${base}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * What of the plan's trainings must outlive this database for the store: those still running or
 * queued that have a checkpoint (their newest one), and those that finished while an evaluation
 * of theirs did not (the checkpoint one epoch before their last: POST /runs/resume only continues
 * a run, and training is deterministic, so the next invocation re-runs that epoch and gets the
 * same model instead of training it all again). Each with its metrics up to the checkpoint. A
 * distillation or fine-tuning run is left out: the checkpoint it builds on does not travel with it.
 */
async function inProgressTrainings(trainings: PlannedTraining[], evaluations: PlannedEvaluation[], runs: Map<string, StoredRun>): Promise<Array<{ record: InProgressRecord; data: Buffer }>> {
  const kept: Array<{ record: InProgressRecord; data: Buffer }> = [];
  const unevaluated = (id: string) => evaluations.some((e) => e.source === id && runs.get(e.id)?.status !== 'succeeded');
  for (const training of trainings) {
    const run = runs.get(training.id);
    if (!run || training.parent) continue;
    const { items } = await api<{ items: Array<{ id: string; epoch: number; sha256: string; format: string }> }>('GET', `/runs/${run.id}/checkpoints`);
    const newest = checkpointToCarry(run, items, unevaluated(training.id));
    if (!newest) continue;
    const data = await download(`/runs/${run.id}/checkpoints/${newest.id}`);
    const { items: points } = await api<{ items: Array<{ key: string; step: number; value: number }> }>('GET', `/runs/${run.id}/metrics`);
    const fingerprint = fingerprints.get(training.id)!;
    kept.push({
      record: {
        plan: training.id,
        fingerprint,
        checkpoint: { epoch: newest.epoch, sha256: newest.sha256, format: newest.format, file: `${training.id}-${fingerprint}-epoch-${newest.epoch}.bwckpt` },
        metrics: points.filter((p) => p.step <= newest.epoch).map(({ key, step, value }) => ({ key, step, value })),
      },
      data,
    });
  }
  return kept;
}

async function main(): Promise<void> {
  const unknownHeld = [...held].filter((id) => !TRAININGS.some((t) => t.id === id) && !EVALUATIONS.some((e) => e.id === id));
  if (unknownHeld.length) throw new Error(`--hold: unknown plan entr${unknownHeld.length === 1 ? 'y' : 'ies'} ${unknownHeld.join(', ')}`);
  const requested = selectPlan();
  // --only repeats a measurement: nothing is taken from the store.
  store = only || fresh ? emptyStore() : await readStore(storePath);
  const carried = carriedFromStore(store, requested.trainings, requested.evaluations, fingerprints);
  const inStore = new Set(carried.evaluations.map((e) => e.plan.id));
  const evaluations = requested.evaluations.filter((e) => !inStore.has(e.id));
  const plan = { trainings: trainingsFor(evaluations), evaluations };
  if (inStore.size) console.log(`${inStore.size} of ${requested.evaluations.length} evaluations are in ${storePath} as planned; measuring the other ${evaluations.length}`);
  heldBack = heldBackBy(plan.trainings, plan.evaluations);
  const { runs, refused } = await ensurePlan(plan.trainings, plan.evaluations);
  const stored = merge(carried, await fetchStored(plan.trainings, plan.evaluations, runs));
  const rows = buildRows(stored.trainings, stored.evaluations);
  if (only) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const pending = [...plan.trainings.map((t) => t.id), ...plan.evaluations.map((e) => e.id)]
    .filter((id) => runs.get(id)?.status !== 'succeeded')
    .map((id) => `${id}: ${blockedBy(id, runs) ? `blocked (${blockedBy(id, runs)})` : refused.has(id) ? `refused by the API (${refused.get(id)})` : heldBack.has(id) ? 'held (--hold)' : runs.get(id)?.status ?? 'waiting for the run it needs'}`);
  const backends = [...new Set(stored.trainings.map((t) => t.run.backend).filter((b) => b !== null).map((b) => `${b!.name} (${b!.threads} thread(s), tfjs ${b!.tfjsVersion})`))];

  await mkdir(outDir, { recursive: true });
  const figures: Array<{ dataset: string; file: string }> = [];
  for (const dataset of ['fashion-mnist', 'mnist']) {
    const series = curveSeries(rows, dataset);
    if (!series.length) continue;
    const file = `robustness-curve-${dataset}.svg`;
    await writeFile(join(outDir, file), curveSvg(series, `${dataset}, cnn-small: accuracy under the standard suite`));
    figures.push({ dataset, file });
  }
  await writeFile(join(outDir, 'robustness.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const markdown = reportMarkdown({
    generatedAt: new Date().toISOString(),
    rows,
    trainings: stored.trainings,
    targets: checkTargets(rows),
    figures,
    pending,
    backend: backends.join('; ') || 'unknown',
    // Every evaluation the rows come from, carried from the store or measured now.
    evaluationOptions: stored.evaluations.filter((e) => e.plan.extra).map((e) => ({ id: e.plan.id, options: e.plan.extra! })),
  });
  await writeFile(join(outDir, 'robustness.md'), markdown);
  const inProgress = [
    ...(await inProgressTrainings(plan.trainings, plan.evaluations, runs)),
    ...(await untouchedInProgress(store, storePath, plan.trainings.map((t) => t.id), new Set(runs.keys()), fingerprints)),
  ];
  await writeInProgress(storePath, inProgress);
  await writeStore(storePath, storeOf(stored.trainings, stored.evaluations, fingerprints, inProgress.map(({ record }) => record)));
  console.log(`wrote ${rows.length} rows to ${join(outDir, 'robustness.json')} and ${join(outDir, 'robustness.md')}${pending.length ? `; not measured yet: ${pending.length}` : ''}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
