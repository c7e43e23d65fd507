import type { PlannedEvaluation } from './plan';
import { evaluationsToSubmit } from './report-schedule';

const evaluation = (id: string, extra: Partial<PlannedEvaluation> = {}): PlannedEvaluation => ({ id, source: `train-${id}`, defense: id, epsilons: [0.1], ...extra });

describe('evaluationsToSubmit', () => {
  const detectors = evaluation('detectors', { wave: 2 });
  const curve = evaluation('curve', { curveOnly: true });
  const pgd = evaluation('pgd');
  const fgsm = evaluation('fgsm');
  const plan = [fgsm, detectors, pgd, curve];

  it('submits a table row before the long evaluations that were ready first', () => {
    expect(evaluationsToSubmit([curve, detectors, pgd], plan, 0, 1)).toEqual([pgd]);
    expect(evaluationsToSubmit([curve, detectors], plan, 0, 1)).toEqual([detectors]);
  });

  it('keeps plan order within a wave and fills only the free slots', () => {
    expect(evaluationsToSubmit([pgd, fgsm, curve], plan, 1, 3)).toEqual([fgsm, pgd]);
    expect(evaluationsToSubmit([pgd, fgsm], plan, 2, 2)).toEqual([]);
    expect(evaluationsToSubmit([pgd], plan, 3, 2)).toEqual([]);
  });
});
