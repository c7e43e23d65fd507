import type { PlannedEvaluation, PlannedTraining } from './plan';
import {
  awaitedEntries,
  blockedBy,
  byPriority,
  checkHeld,
  entryStatus,
  heldBackBy,
  nextSubmission,
  pendingEntries,
  PlanEntries,
  RunState,
  ScheduleState,
  selectEntries,
  trainingsFor,
} from './report-schedule';

const training = (id: string, extra: Partial<PlannedTraining> = {}): PlannedTraining => ({
  id,
  dataset: 'fashion-mnist',
  body: { epochs: 1 },
  rationale: id,
  ...extra,
});
const evaluation = (id: string, source: string, extra: Partial<PlannedEvaluation> = {}): PlannedEvaluation => ({
  id,
  source,
  defense: id,
  epsilons: [0.1],
  rationale: id,
  ...extra,
});

// Two trainings and a teacher/student pair; an evaluation of each, a long one and a curve point.
const none = training('none');
const pgd = training('pgd');
const teacher = training('teacher');
const student = training('student', { parent: { plan: 'teacher', field: 'teacherCheckpoint' } });
const evalNone = evaluation('eval-none', 'none');
const evalPgd = evaluation('eval-pgd', 'pgd');
const detectors = evaluation('eval-detectors', 'none', { wave: 2 });
const curve = evaluation('curve-none', 'none', { curveOnly: true });
const evalStudent = evaluation('eval-student', 'student');
const plan: PlanEntries = { trainings: [none, pgd, teacher, student], evaluations: [evalNone, curve, detectors, evalPgd, evalStudent] };

const runs = (statuses: Record<string, string>): Map<string, RunState> =>
  new Map(Object.entries(statuses).map(([id, status]) => [id, { id: `${id}-run`, status }]));
const state = (statuses: Record<string, string> = {}, extra: Partial<ScheduleState> = {}): ScheduleState => ({
  runs: runs(statuses),
  heldBack: new Set(),
  refused: new Map(),
  ...extra,
});
const slots = { training: 2, evaluation: 2 };
const next = (s: ScheduleState, tried: string[] = [], available = slots) => nextSubmission(plan, s, available, new Set(tried))?.entry.id;

describe('byPriority', () => {
  it('puts a table row before the long evaluations that were ready first', () => {
    expect(byPriority([curve, detectors, evalPgd], plan.evaluations)).toEqual([evalPgd, detectors, curve]);
  });

  it('keeps plan order within a wave', () => {
    expect(byPriority([evalPgd, curve, evalNone], plan.evaluations)).toEqual([evalNone, evalPgd, curve]);
  });
});

describe('nextSubmission', () => {
  it('submits trainings in plan order while a training slot is free, a student only once its teacher succeeded', () => {
    expect(next(state())).toBe('none');
    expect(next(state({ none: 'queued' }))).toBe('pgd');
    expect(next(state({ none: 'running', pgd: 'queued' }))).toBeUndefined();
    expect(next(state({ none: 'succeeded', pgd: 'running', teacher: 'running' }), ['eval-none', 'curve-none'])).toBe('eval-detectors');
    expect(next(state({ none: 'succeeded', pgd: 'succeeded', teacher: 'running' }))).toBe('eval-none');
    expect(next(state({ none: 'succeeded', pgd: 'succeeded', teacher: 'succeeded' }))).toBe('student');
  });

  it('fills free evaluation slots by priority, and no more', () => {
    const trained = { none: 'succeeded', pgd: 'succeeded', teacher: 'running', student: 'queued' };
    expect(next(state(trained))).toBe('eval-none');
    expect(next(state({ ...trained, 'eval-none': 'running' }))).toBe('eval-pgd');
    expect(next(state({ ...trained, 'eval-none': 'running', 'eval-pgd': 'queued' }))).toBeUndefined();
    // An evaluation the database already held as finished takes no slot.
    expect(next(state({ ...trained, 'eval-none': 'succeeded', 'eval-pgd': 'queued' }))).toBe('eval-detectors');
    expect(next(state({ ...trained, 'eval-none': 'running' }), [], { training: 2, evaluation: 1 })).toBeUndefined();
  });

  it('offers nothing held back or already tried this pass', () => {
    expect(next(state({}, { heldBack: new Set(['none']) }))).toBe('pgd');
    expect(next(state(), ['none', 'pgd'])).toBe('teacher');
    // A refusal from an earlier poll is tried again.
    expect(next(state({}, { refused: new Map([['none', 'HTTP 400']]) }))).toBe('none');
  });
});

describe('holds and failures', () => {
  it('holds what builds on a held entry, but not the trainings a held evaluation needs', () => {
    expect([...heldBackBy(plan, plan, new Set(['teacher', 'eval-pgd']))].sort()).toEqual(['eval-pgd', 'eval-student', 'student', 'teacher']);
  });

  it('names unknown held entries', () => {
    expect(() => checkHeld(plan, ['none', 'nope'])).toThrow('--hold: unknown plan entry nope');
    expect(() => checkHeld(plan, ['eval-student', 'student'])).not.toThrow();
  });

  it('blocks an entry whose run, or one it depends on, failed or was cancelled', () => {
    expect(blockedBy(plan, 'eval-student', runs({ teacher: 'cancelled' }))).toBe('teacher cancelled');
    expect(blockedBy(plan, 'eval-pgd', runs({ pgd: 'failed', 'eval-pgd': 'queued' }))).toBe('pgd failed');
    expect(blockedBy(plan, 'eval-none', runs({ pgd: 'failed' }))).toBeUndefined();
  });
});

describe('what the command reports and waits for', () => {
  const s = state(
    { none: 'succeeded', pgd: 'running', teacher: 'failed', 'eval-none': 'succeeded' },
    { heldBack: new Set(['eval-detectors']), refused: new Map([['curve-none', 'HTTP 400 bad field']]) },
  );
  const ids = [...plan.trainings, ...plan.evaluations].map((e) => e.id);

  it('says what each entry is doing', () => {
    expect(entryStatus(plan, 'pgd', { ...s, runs: new Map([...s.runs, ['pgd', { id: 'r', status: 'running', progress: 0.426 }]]) })).toBe('running 42%');
    expect(ids.map((id) => [id, entryStatus(plan, id, s)])).toEqual([
      ['none', 'succeeded'],
      ['pgd', 'running 0%'],
      ['teacher', 'failed'],
      ['student', 'waiting for its source'],
      ['eval-none', 'succeeded'],
      ['curve-none', 'refused: HTTP 400 bad field'],
      ['eval-detectors', 'held (--hold)'],
      ['eval-pgd', 'waiting for its source'],
      ['eval-student', 'waiting for its source'],
    ]);
  });

  it('waits only for what can still finish', () => {
    expect(awaitedEntries(plan, ids, s)).toEqual(['pgd', 'eval-pgd']);
  });

  it('lists every entry that has not succeeded, and why', () => {
    expect(pendingEntries(plan, plan, s)).toEqual([
      'pgd: running',
      'teacher: blocked (teacher failed)',
      'student: blocked (teacher failed)',
      'curve-none: refused by the API (HTTP 400 bad field)',
      'eval-detectors: held (--hold)',
      'eval-pgd: waiting for the run it needs',
      'eval-student: blocked (teacher failed)',
    ]);
  });
});

describe('selecting entries', () => {
  it('names the trainings an evaluation needs, parents included, in plan order', () => {
    expect(trainingsFor(plan, [evalStudent, evalNone]).map((t) => t.id)).toEqual(['none', 'teacher', 'student']);
  });

  it("takes the whole plan, or --only's evaluations with what they need, naming unknown ones", () => {
    expect(selectEntries(plan, undefined)).toBe(plan);
    expect(selectEntries(plan, ['eval-student'])).toEqual({ trainings: [teacher, student], evaluations: [evalStudent] });
    expect(() => selectEntries(plan, ['eval-none', 'student'])).toThrow('--only: unknown evaluation(s) student; known: eval-none');
  });
});
