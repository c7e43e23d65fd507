import { apiAuthHeaders } from '../lib/api-client';
import { fingerprintOf } from './plan-fingerprint';
import type { CurvePoint, StoredEvaluation, StoredRun, StoredTraining } from './report-rows';
import type { PlanEntries } from './report-schedule';
import type { ReportSession } from './report-session';
import { checkpointToCarry, InProgressRecord, newestCheckpoint } from './report-store';

/** The records behind the rows, read from the API: each entry's run, per-epoch times and evaluation curves. */
export async function fetchStored(
  session: ReportSession,
  entries: PlanEntries,
  runs: Map<string, StoredRun>,
): Promise<{ trainings: StoredTraining[]; evaluations: StoredEvaluation[] }> {
  const { api } = session;
  const storedTrainings = new Map<string, StoredTraining>();
  for (const plan of entries.trainings) {
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
  for (const plan of entries.evaluations) {
    const run = runs.get(plan.id);
    if (!run || run.status !== 'succeeded') continue;
    const view = await api<{ run: StoredRun; curve: CurvePoint[]; adaptiveCurve: CurvePoint[] | null }>('GET', `/evaluations/${run.id}`);
    storedEvaluations.push({ plan, run: view.run, curve: view.curve, adaptiveCurve: view.adaptiveCurve });
  }
  return { trainings: [...storedTrainings.values()], evaluations: storedEvaluations };
}

/** A body of raw bytes from the API (a checkpoint file). */
async function download(apiBase: string, path: string): Promise<Buffer> {
  const res = await fetch(`${apiBase}${path}`, { headers: apiAuthHeaders() });
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
export async function inProgressTrainings(
  session: ReportSession,
  entries: PlanEntries,
  runs: Map<string, StoredRun>,
): Promise<Array<{ record: InProgressRecord; data: Buffer }>> {
  const { api } = session;
  const kept: Array<{ record: InProgressRecord; data: Buffer }> = [];
  const unevaluated = (id: string) => entries.evaluations.some((e) => e.source === id && runs.get(e.id)?.status !== 'succeeded');
  for (const training of entries.trainings) {
    const run = runs.get(training.id);
    if (!run || training.parent) continue;
    const { items } = await api<{ items: Array<{ id: string; epoch: number; sha256: string; format: string }> }>('GET', `/runs/${run.id}/checkpoints`);
    const newest = checkpointToCarry(run, items, unevaluated(training.id));
    if (!newest) continue;
    const data = await download(session.apiBase, `/runs/${run.id}/checkpoints/${newest.id}`);
    const { items: points } = await api<{ items: Array<{ key: string; step: number; value: number }> }>('GET', `/runs/${run.id}/metrics`);
    const fingerprint = fingerprintOf(training.id, session.fingerprints);
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
