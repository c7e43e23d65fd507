import type { PlannedEvaluation } from './plan';
import { byPriority } from './report-schedule';

const evaluation = (id: string, extra: Partial<PlannedEvaluation> = {}): PlannedEvaluation => ({ id, source: `train-${id}`, defense: id, epsilons: [0.1], ...extra });

describe('byPriority', () => {
  const detectors = evaluation('detectors', { wave: 2 });
  const curve = evaluation('curve', { curveOnly: true });
  const pgd = evaluation('pgd');
  const fgsm = evaluation('fgsm');
  const plan = [fgsm, detectors, pgd, curve];

  it('puts a table row before the long evaluations that were ready first', () => {
    expect(byPriority([curve, detectors, pgd], plan)).toEqual([pgd, detectors, curve]);
  });

  it('keeps plan order within a wave', () => {
    expect(byPriority([pgd, curve, fgsm], plan)).toEqual([fgsm, pgd, curve]);
  });
});
