import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVALUATIONS, PlannedTraining, TRAININGS } from './plan';
import { planFingerprints, planKey } from './plan-fingerprint';
import type { ReportStore } from './report-store';

const trainingPlan = (id: string) => TRAININGS.find((t) => t.id === id)!;

describe('plan fingerprints', () => {
  it('change with an entry and with everything it builds on, and with nothing else', () => {
    const before = planFingerprints();
    const teacher = trainingPlan('fashion-teacher-t20');
    const changed: PlannedTraining[] = TRAININGS.map((t) => (t === teacher ? { ...t, body: { ...t.body, epochs: 7 } } : t));
    const after = planFingerprints(changed, EVALUATIONS);
    const differs = (id: string) => before.get(id) !== after.get(id);
    expect(['fashion-teacher-t20', 'fashion-distillation-t20', 'eval-fashion-distilled', 'curve-fashion-distillation'].every(differs)).toBe(true);
    expect(['fashion-none', 'fashion-pgd-at', 'eval-fashion-none', 'eval-fashion-pgd-at', 'curve-fashion-none'].some(differs)).toBe(false);
    // Key order in a literal is not content.
    const reordered = TRAININGS.map((t) => ({ ...t, body: Object.fromEntries(Object.entries(t.body).reverse()) }));
    expect(planFingerprints(reordered, EVALUATIONS)).toEqual(before);
    expect(planKey('eval-fashion-none', before)).toBe(`eval-fashion-none-${before.get('eval-fashion-none')!}`);
  });

  it('leave out the documentation: a rationale or study page can change without re-measuring anything', () => {
    const before = planFingerprints();
    const trainings = TRAININGS.map((t) => ({ ...t, rationale: `${t.rationale}, reworded`, study: undefined }));
    const evaluations = EVALUATIONS.map((e) => ({ ...e, rationale: 'reworded', study: 'docs/experiments/elsewhere.md' as const }));
    expect(planFingerprints(trainings, evaluations)).toEqual(before);
  });

  // The committed store is what `report:robustness -- --no-wait` regenerates the report from: a
  // record whose fingerprint no longer matches would be dropped and its rows measured again.
  it('match every record of the committed report store', () => {
    const store = JSON.parse(readFileSync(join(__dirname, '../../docs/robustness-store.json'), 'utf8')) as ReportStore;
    const prints = planFingerprints();
    const records = [...store.trainings, ...store.evaluations, ...(store.inProgress ?? [])];
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((r) => prints.get(r.plan) !== r.fingerprint).map((r) => r.plan)).toEqual([]);
  });
});
