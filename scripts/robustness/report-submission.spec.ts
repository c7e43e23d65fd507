import type { ApiCall } from '../lib/api-client';
import type { PlannedEvaluation, PlannedTraining } from './plan';
import { planFingerprints, planKey } from './plan-fingerprint';
import type { StoredRun } from './report-rows';
import type { PlanEntries } from './report-schedule';
import type { ReportSession } from './report-session';
import { emptyStore } from './report-store';
import { ensureRuns, SubmissionOptions } from './report-submission';

const training = (id: string, extra: Partial<PlannedTraining> = {}): PlannedTraining => ({
  id,
  dataset: 'fashion-mnist',
  body: { kind: 'train', epochs: 1 },
  rationale: id,
  ...extra,
});
const evaluation = (id: string, source: string): PlannedEvaluation => ({ id, source, defense: id, epsilons: [0.1], rationale: id });
const plan: PlanEntries = {
  trainings: [training('none'), training('teacher'), training('student', { parent: { plan: 'teacher', field: 'teacherCheckpoint' } })],
  evaluations: [evaluation('eval-none', 'none'), evaluation('eval-student', 'student')],
};
const fingerprints = planFingerprints(plan.trainings, plan.evaluations);
const key = (id: string) => planKey(id, fingerprints);

/**
 * An API that keeps runs by Idempotency-Key, as the real one does: a known key answers with its
 * run, a queued run has succeeded by the next GET. `existing` are runs an earlier invocation left.
 */
function fakeApi(existing: Record<string, string> = {}, refuse: string[] = []) {
  const runs = new Map<string, StoredRun>();
  const byKey = new Map<string, StoredRun>();
  const posts: Array<{ path: string; key: string; body: Record<string, unknown> }> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const create = (idempotencyKey: string, status: string, body: Record<string, unknown> = {}) => {
    const run: StoredRun = { id: `run-${runs.size}`, status, spec: body, result: null, backend: null };
    runs.set(run.id, run);
    byKey.set(idempotencyKey, run);
    return run;
  };
  for (const [id, status] of Object.entries(existing)) create(key(id), status);
  const answer = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const lookup = /^\/runs\?idempotencyKey=([^&]+)/.exec(path);
    if (method === 'GET' && lookup) return { items: [byKey.get(decodeURIComponent(lookup[1]))].filter(Boolean) };
    if (method === 'POST') {
      const idempotencyKey = headers['Idempotency-Key'];
      if (refuse.some((id) => idempotencyKey.startsWith(`${id}-`))) throw new Error(`POST ${path}: HTTP 400`);
      posts.push({ path, key: idempotencyKey, body: body as Record<string, unknown> });
      const known = byKey.get(idempotencyKey);
      if (known) return known;
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return create(idempotencyKey, 'queued', body as Record<string, unknown>);
    }
    if (method === 'GET' && path.endsWith('/checkpoints')) return { items: [{ id: `${path.split('/')[2]}-ckpt`, epoch: 1 }] };
    const run = runs.get(path.split('/')[2]);
    if (run?.status === 'queued') {
      run.status = 'succeeded';
      inFlight -= 1;
    }
    return run;
  };
  // Like the real client's: an answer is a promise, and a refusal a rejected one.
  const api = ((method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    new Promise<unknown>((resolve) => {
      resolve(answer(method, path, body, headers));
    })) as ApiCall;
  return { api, posts, mostInFlight: () => mostInFlight };
}

const session = (api: ApiCall): ReportSession => ({
  api,
  apiBase: 'http://api',
  plan,
  fingerprints,
  store: emptyStore(),
  storePath: '/nonexistent/store.json',
  log: () => undefined,
});
const options = (extra: Partial<SubmissionOptions> = {}): SubmissionOptions => ({
  wait: true,
  slots: { training: 1, evaluation: 1 },
  retryFailed: 0,
  heldBack: new Set(),
  pollMs: 0,
  ...extra,
});
const statuses = (runs: Map<string, StoredRun>) => Object.fromEntries([...runs].map(([id, run]) => [id, run.status]));

describe('ensureRuns', () => {
  it("runs the whole plan within the slots, a student on its teacher's newest checkpoint", async () => {
    const fake = fakeApi();
    const { runs, refused } = await ensureRuns(session(fake.api), plan, options());
    expect(statuses(runs)).toEqual({ none: 'succeeded', teacher: 'succeeded', student: 'succeeded', 'eval-none': 'succeeded', 'eval-student': 'succeeded' });
    expect(refused.size).toBe(0);
    // One training and one evaluation at a time.
    expect(fake.mostInFlight()).toBe(2);
    const student = fake.posts.find((p) => p.key === key('student'))!;
    expect(student.body).toEqual({ kind: 'train', epochs: 1, teacherCheckpoint: `${runs.get('teacher')!.id}-ckpt` });
    expect(fake.posts.find((p) => p.key === key('eval-none'))!.body).toMatchObject({ runId: runs.get('none')!.id, suite: 'standard' });
  });

  it('finds what an earlier invocation submitted instead of submitting it again', async () => {
    const fake = fakeApi({ none: 'succeeded', 'eval-none': 'running' });
    const { runs } = await ensureRuns(session(fake.api), plan, options({ wait: false }));
    expect(fake.posts.map((p) => p.key)).toEqual([key('teacher')]);
    expect(statuses(runs)).toEqual({ none: 'succeeded', 'eval-none': 'running', teacher: 'succeeded' });
  });

  it('reports a failed run as it is, or submits it again under a numbered key with --retry-failed', async () => {
    const entries = { trainings: [plan.trainings[0]], evaluations: [] };
    const once = await ensureRuns(session(fakeApi({ none: 'failed' }).api), entries, options());
    expect(statuses(once.runs)).toEqual({ none: 'failed' });
    const fake = fakeApi({ none: 'failed' });
    const retried = await ensureRuns(session(fake.api), entries, options({ retryFailed: 1 }));
    expect(fake.posts.map((p) => p.key)).toEqual([key('none'), `${key('none')}-retry-1`]);
    expect(statuses(retried.runs)).toEqual({ none: 'succeeded' });
  });

  it('goes on past a refused submission and leaves held entries alone', async () => {
    const fake = fakeApi({}, ['none']);
    const { runs, refused } = await ensureRuns(
      session(fake.api),
      plan,
      options({ wait: false, slots: { training: 2, evaluation: 1 }, heldBack: new Set(['student', 'eval-student']) }),
    );
    expect(refused.get('none')).toMatch(/HTTP 400/);
    expect(statuses(runs)).toEqual({ teacher: 'succeeded' });
    expect(fake.posts.map((p) => p.key)).toEqual([key('teacher')]);
  });
});
