import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVALUATIONS, TRAININGS } from './plan';
import { planFingerprints } from './plan-fingerprint';
import { buildRows, StoredEvaluation, StoredTraining } from './report-rows';
import {
  carriedFromStore,
  checkpointFolder,
  checkpointToCarry,
  emptyStore,
  InProgressRecord,
  mergeStored,
  readStore,
  resumeBodyFor,
  storeOf,
  untouchedInProgress,
  writeInProgress,
  writeStore,
} from './report-store';

const trainingPlan = (id: string) => TRAININGS.find((t) => t.id === id)!;
const evaluationPlan = (id: string) => EVALUATIONS.find((e) => e.id === id)!;

function stored(id: string): StoredTraining {
  return {
    plan: trainingPlan(id),
    run: { id: `${id}-run`, status: 'succeeded', spec: { ...trainingPlan(id).body }, result: null, backend: null },
    epochSeconds: [20],
    epochCpuSeconds: [10],
  };
}

function measured(id: string, suite: number): StoredEvaluation {
  return {
    plan: evaluationPlan(id),
    run: { id: `${id}-run`, status: 'succeeded', spec: { seed: 0 }, result: { flags: [] }, backend: null },
    curve: [{ epsilon: 0.1, n: 1000, cleanAccuracy: 0.9, robustAccuracy: { suite } }],
    adaptiveCurve: null,
  };
}

describe('the report store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-store-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives back what was measured as planned, with parents linked, and builds the same rows from it', async () => {
    const prints = planFingerprints();
    const teacher = stored('fashion-teacher-t20');
    const student = { ...stored('fashion-distillation-t20'), parent: teacher };
    const none = { ...stored('fashion-none'), finalCheckpoint: { epoch: 3, sha256: 'c'.repeat(64) } };
    const trainings = [none, teacher, student, { ...stored('fashion-pgd-at'), run: { ...stored('fashion-pgd-at').run, status: 'running' } }];
    const evaluations = [measured('eval-fashion-none', 0.03), measured('eval-fashion-distilled', 0.1)];
    const path = join(dir, 'store.json');
    await writeStore(path, storeOf(trainings, evaluations, prints));

    const store = await readStore(path);
    expect(store.trainings.map((t) => t.plan)).toEqual(['fashion-distillation-t20', 'fashion-none', 'fashion-teacher-t20']);
    const carried = carriedFromStore(store, TRAININGS, EVALUATIONS, prints);
    expect(carried.evaluations.map((e) => e.plan.id).sort()).toEqual(['eval-fashion-distilled', 'eval-fashion-none']);
    expect(carried.trainings.find((t) => t.plan.id === 'fashion-distillation-t20')?.parent?.plan.id).toBe('fashion-teacher-t20');
    expect(carried.trainings.find((t) => t.plan.id === 'fashion-none')?.finalCheckpoint).toEqual(none.finalCheckpoint);
    expect(buildRows(carried.trainings, carried.evaluations)).toEqual(buildRows(trainings, evaluations));
  });

  it('drops an entry whose plan changed, and an evaluation whose model was not kept', () => {
    const prints = planFingerprints();
    const store = storeOf(
      [stored('fashion-none'), stored('fashion-teacher-t20'), { ...stored('fashion-distillation-t20') }],
      [measured('eval-fashion-none', 0.03), measured('eval-fashion-distilled', 0.1)],
      prints,
    );
    const changed = new Map(prints).set('fashion-teacher-t20', 'something-else');
    const carried = carriedFromStore(store, TRAININGS, EVALUATIONS, changed);
    // The student's recorded parent is no longer the planned teacher: neither it nor its evaluation is carried.
    expect(carried.trainings.map((t) => t.plan.id)).toEqual(['fashion-none']);
    expect(carried.evaluations.map((e) => e.plan.id)).toEqual(['eval-fashion-none']);
  });

  it('starts empty without a file and refuses a file of another kind, naming it', async () => {
    expect(await readStore(join(dir, 'missing.json'))).toEqual(emptyStore());
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify([{ dataset: 'mnist' }]));
    await expect(readStore(other)).rejects.toThrow(`${other} is not a report store`);
  });

  it('keeps a training in progress as its newest checkpoint and gives it back as a POST /runs/resume body', async () => {
    const prints = planFingerprints();
    const path = join(dir, 'progress.json');
    const data = Buffer.from('checkpoint bytes');
    const pgd = trainingPlan('fashion-pgd-at');
    const record = (epoch: number): InProgressRecord => ({
      plan: pgd.id,
      fingerprint: prints.get(pgd.id)!,
      checkpoint: { epoch, sha256: createHash('sha256').update(data).digest('hex'), format: 'bulwark-ckpt-v1', file: `${pgd.id}-epoch-${epoch}.bwckpt` },
      metrics: [{ key: 'train_loss', step: 1, value: 0.5 }],
    });
    await writeInProgress(path, [{ record: record(3), data }]);
    await writeInProgress(path, [{ record: record(4), data }]);
    // The older checkpoint is gone: only what a record names stays.
    expect(await readdir(checkpointFolder(path))).toEqual([`${pgd.id}-epoch-4.bwckpt`]);
    await writeStore(path, storeOf([], [], prints, [record(4)]));

    const store = await readStore(path);
    const lines: string[] = [];
    const body = await resumeBodyFor(store, path, pgd, prints, (line) => lines.push(line));
    expect(body).toEqual({
      run: pgd.body,
      checkpoint: { epoch: 4, sha256: record(4).checkpoint.sha256, format: 'bulwark-ckpt-v1', data: data.toString('base64') },
      metrics: record(4).metrics,
    });
    // Another spec for the entry, or a damaged file: it starts over, and says why.
    expect(await resumeBodyFor(store, path, pgd, new Map(prints).set(pgd.id, 'changed'), (line) => lines.push(line))).toBeUndefined();
    await writeFile(join(checkpointFolder(path), `${pgd.id}-epoch-4.bwckpt`), 'damaged');
    expect(await resumeBodyFor(store, path, pgd, prints, (line) => lines.push(line))).toBeUndefined();
    expect(lines).toEqual([expect.stringMatching(/does not match its SHA-256; starting over$/)]);
  });

  it('hands back the in-progress trainings an invocation did not submit, so writing the store keeps them', async () => {
    const prints = planFingerprints();
    const path = join(dir, 'held.json');
    const data = Buffer.from('held checkpoint');
    const record = (plan: string, fingerprint = prints.get(plan)!): InProgressRecord => ({
      plan,
      fingerprint,
      checkpoint: { epoch: 2, sha256: createHash('sha256').update(data).digest('hex'), format: 'bulwark-ckpt-v1', file: `${plan}-epoch-2.bwckpt` },
      metrics: [],
    });
    const records = [record('fashion-pgd-at'), record('fashion-fgsm-rs'), record('fashion-fgsm-at'), record('fashion-none', 'stale'), record('fashion-trades')];
    await writeInProgress(
      path,
      records.map((r) => ({ record: r, data })),
    );
    await rm(join(checkpointFolder(path), 'fashion-trades-epoch-2.bwckpt'));
    const store = { ...emptyStore(), inProgress: records };
    const needed = ['fashion-pgd-at', 'fashion-fgsm-rs', 'fashion-none', 'fashion-trades'];
    // fgsm-rs was submitted (its record comes from the API), fgsm-at is no longer needed, none's
    // plan changed, trades' file is gone: only the held pgd-at stays as it was.
    const kept = await untouchedInProgress(store, path, needed, new Set(['fashion-fgsm-rs']), prints);
    expect(kept).toEqual([{ record: records[0], data }]);
    await writeInProgress(path, kept);
    expect(await readdir(checkpointFolder(path))).toEqual(['fashion-pgd-at-epoch-2.bwckpt']);
  });
});

describe('mergeStored', () => {
  it('puts carried and fresh records in plan order, a fresh reading winning, with parents linked across both', () => {
    const plan = { trainings: TRAININGS, evaluations: EVALUATIONS };
    const carriedTeacher = stored('fashion-teacher-t20');
    const freshStudent = stored('fashion-distillation-t20');
    const carriedNone = measured('eval-fashion-none', 0.03);
    const freshNone = measured('eval-fashion-none', 0.04);
    const merged = mergeStored(
      plan,
      { trainings: [carriedTeacher, stored('fashion-none')], evaluations: [carriedNone, measured('eval-fashion-distilled', 0.1)] },
      { trainings: [freshStudent], evaluations: [freshNone] },
    );
    expect(merged.trainings.map((t) => t.plan.id)).toEqual(['fashion-none', 'fashion-teacher-t20', 'fashion-distillation-t20']);
    expect(merged.trainings[2].parent).toBe(carriedTeacher);
    expect(merged.evaluations.map((e) => e.plan.id)).toEqual(['eval-fashion-none', 'eval-fashion-distilled']);
    expect(merged.evaluations[0]).toBe(freshNone);
  });
});

describe('checkpointToCarry', () => {
  const checkpoints = [{ epoch: 1 }, { epoch: 3 }, { epoch: 2 }];
  const run = (status: string) => ({ status, spec: { epochs: 3 } });

  it('keeps the newest checkpoint of a run still going', () => {
    expect(checkpointToCarry(run('running'), checkpoints, true)).toEqual({ epoch: 3 });
    expect(checkpointToCarry<{ epoch: number }>(run('queued'), [], true)).toBeUndefined();
  });

  it('keeps a finished run awaiting an evaluation one epoch short, since resume only continues a run', () => {
    expect(checkpointToCarry(run('succeeded'), checkpoints, true)).toEqual({ epoch: 2 });
    expect(checkpointToCarry({ status: 'succeeded', spec: { epochs: 1 } }, [{ epoch: 1 }], true)).toBeUndefined();
  });

  it('keeps nothing of a run fully evaluated, failed or cancelled', () => {
    expect(checkpointToCarry(run('succeeded'), checkpoints, false)).toBeUndefined();
    expect(checkpointToCarry(run('failed'), checkpoints, true)).toBeUndefined();
    expect(checkpointToCarry(run('cancelled'), checkpoints, true)).toBeUndefined();
  });
});
