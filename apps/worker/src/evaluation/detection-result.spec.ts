import type { DetectorDescription } from '@bulwark/spec';
import type { DetectionEvaluation } from '@bulwark/evaluation';
import { curveShare, detectionResult } from './detection-result';

const description = (kind: DetectorDescription['kind'], threshold: number): DetectorDescription => ({
  kind,
  threshold,
  targetFpr: 0.05,
  validationFpr: 0.04,
  validation: { name: 'mnist/train[seed 7, 100]', n: 100 },
  scoreScale: 0.2,
  preprocessing: [],
  params: {},
});

const evaluation = (detector: DetectorDescription, epsilon: number, stackRobust: number): DetectionEvaluation => ({
  n: 40,
  epsilon,
  norm: 'linf',
  detector,
  cleanFalsePositiveRate: 0.05,
  cleanCorrect: 36,
  cleanAccepted: 34,
  outcomes: [
    { attack: 'pgd', n: 40, fooled: 20, detected: 5, detectionRate: 0.25, rocAuc: 0.7, stackRobust: stackRobust + 3, details: { steps: 10 } },
    { attack: 'detector-aware-pgd', n: 40, fooled: 22, detected: 1, detectionRate: 1 / 22, rocAuc: 0.5, stackRobust, details: { steps: 20 } },
  ],
  worstCase: { stackRobust: stackRobust - 1, attacks: ['pgd', 'detector-aware-pgd'] },
});

describe('detectionResult', () => {
  it('regroups per-ε results per detector in the stored shape, counts as measured', () => {
    const confidence = description('confidence', 0.3);
    const mahalanobis = description('mahalanobis', 120);
    const result = detectionResult({
      validation: { n: 100, seed: 7 },
      detectors: [confidence, mahalanobis],
      perEpsilon: [
        [evaluation(confidence, 0.1, 10), evaluation(mahalanobis, 0.1, 12)],
        [evaluation(confidence, 0.2, 4), evaluation(mahalanobis, 0.2, 6)],
      ],
    });
    expect(result.validation).toEqual({ n: 100, split: 'train', seed: 7 });
    expect(result.detectors.map((d) => [d.detector.kind, d.detector.threshold])).toEqual([
      ['confidence', 0.3],
      ['mahalanobis', 120],
    ]);
    expect(result.detectors[1].points.map((p) => [p.epsilon, p.worstCase.stackRobust])).toEqual([
      [0.1, 11],
      [0.2, 5],
    ]);
    expect(result.detectors[0].points[0]).toEqual({
      epsilon: 0.1,
      n: 40,
      cleanCorrect: 36,
      cleanAccepted: 34,
      cleanFalsePositiveRate: 0.05,
      outcomes: [
        { attack: 'pgd', fooled: 20, detected: 5, detectionRate: 0.25, rocAuc: 0.7, stackRobust: 13, details: { steps: 10 } },
        { attack: 'detector-aware-pgd', fooled: 22, detected: 1, detectionRate: 1 / 22, rocAuc: 0.5, stackRobust: 10, details: { steps: 20 } },
      ],
      worstCase: { stackRobust: 9, attacks: ['pgd', 'detector-aware-pgd'] },
    });
  });

  it('refuses results whose detector order does not match', () => {
    const confidence = description('confidence', 0.3);
    const mahalanobis = description('mahalanobis', 120);
    expect(() =>
      detectionResult({
        validation: { n: 100, seed: 7 },
        detectors: [confidence, mahalanobis],
        perEpsilon: [[evaluation(mahalanobis, 0.1, 1), evaluation(confidence, 0.1, 1)]],
      }),
    ).toThrow(/out of order/);
  });
});

describe('curveShare', () => {
  const spec = { epsilons: [0, 0.1, 0.2], attacks: ['fgsm', 'pgd'] as ('fgsm' | 'pgd')[] };

  it("splits the progress bar in attack runs: the curve's attacks, then each attack once plus one detector-aware attack per detector", () => {
    expect(curveShare(spec)).toBe(1);
    // Curve 2 attacks × 2 radii = 4; detection (2 + 3) × 2 = 10.
    expect(
      curveShare({
        ...spec,
        detectors: [
          { kind: 'confidence', fpr: 0.05 },
          { kind: 'confidence', fpr: 0.1 },
          { kind: 'confidence', fpr: 0.2 },
        ],
      }),
    ).toBeCloseTo(4 / 14, 12);
    // Behind a defense the curve runs twice (naive and adaptive): 8 against 6.
    expect(curveShare({ ...spec, defense: { preprocessing: [] }, detectors: [{ kind: 'confidence', fpr: 0.05 }] })).toBeCloseTo(8 / 14, 12);
    expect(curveShare({ ...spec, epsilons: [0], detectors: [{ kind: 'confidence', fpr: 0.05 }] })).toBe(1);
  });
});
