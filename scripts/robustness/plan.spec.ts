import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EVALUATIONS, TRAININGS } from './plan';

describe('the plan', () => {
  const entries = [...TRAININGS, ...EVALUATIONS];

  it('names each entry once', () => {
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
  });

  it('gives every entry a one-line rationale', () => {
    expect(entries.filter((e) => !e.rationale.trim() || e.rationale.includes('\n')).map((e) => e.id)).toEqual([]);
  });

  it('points at study pages that exist', () => {
    const missing = [...new Set(entries.flatMap((e) => (e.study ? [e.study] : [])))].filter((page) => !existsSync(join(__dirname, '../..', page)));
    expect(missing).toEqual([]);
  });

  it("builds on entries it has: a training's parent, an evaluation's source", () => {
    const trainings = new Set(TRAININGS.map((t) => t.id));
    const dangling = [...TRAININGS.flatMap((t) => (t.parent ? [t.parent.plan] : [])), ...EVALUATIONS.map((e) => e.source)].filter((id) => !trainings.has(id));
    expect(dangling).toEqual([]);
  });
});
