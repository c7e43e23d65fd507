import { detectionMetrics, rocAuc, thresholdAtFpr } from './detection-metrics';

describe('detection metrics', () => {
  it('ROC AUC is P(adversarial > clean) + ½·P(tie), counted by hand', () => {
    // 0.35 beats 0.1, 0.2, 0.3; 0.5 beats all four: 7 of 8 pairs.
    expect(rocAuc([0.1, 0.2, 0.3, 0.4], [0.35, 0.5])).toBeCloseTo(7 / 8, 12);
    // 2 beats 1 and ties the two 2s (½ each); 4 beats all four: (1 + 1 + 4) / 8.
    expect(rocAuc([1, 2, 2, 3], [2, 4])).toBeCloseTo(6 / 8, 12);
    expect(rocAuc([1, 2], [3, 4, 5])).toBe(1);
    expect(rocAuc([3, 4, 5], [1, 2])).toBe(0);
    expect(rocAuc([7, 7, 7], [7, 7])).toBe(0.5);
  });

  it('sets the threshold that rejects at most the target share of clean scores', () => {
    const clean = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(thresholdAtFpr(clean, 0.05)).toBe(19);
    expect(thresholdAtFpr(clean, 0.1)).toBe(18);
    expect(thresholdAtFpr(clean, 0.04)).toBe(20);
    // 0.05 · 400 is 20.000000000000004 in floating point: still 20 allowed, not 21 or 19.
    const many = Array.from({ length: 400 }, (_, i) => i);
    const tau = thresholdAtFpr(many, 0.05);
    expect(many.filter((s) => s > tau)).toHaveLength(20);
    expect(() => thresholdAtFpr([], 0.05)).toThrow(/no clean scores/);
    expect(() => thresholdAtFpr([1, NaN], 0.05)).toThrow(/finite/);
  });

  it('reports TPR at the given (validation) threshold, the realised FPR and the AUC', () => {
    const cleanScores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const adversarialScores = [0.45, 0.85, 0.95, 1.2];
    const fixed = detectionMetrics({ cleanScores, adversarialScores, threshold: 0.8 });
    expect(fixed.threshold).toBe(0.8);
    // Above 0.8: 0.85, 0.95, 1.2 of the adversarial; 0.9, 1.0 of the clean.
    expect(fixed.detectionRate).toBeCloseTo(3 / 4, 12);
    expect(fixed.falsePositiveRate).toBeCloseTo(2 / 10, 12);
    // Pairs won: 0.45 → 4, 0.85 → 8, 0.95 → 9, 1.2 → 10: 31 of 40.
    expect(fixed.rocAuc).toBeCloseTo(31 / 40, 12);
    expect(fixed).toMatchObject({ nClean: 10, nAdversarial: 4, targetFpr: 0.05 });

    // Without a threshold it is set from the clean scores: 10% of 10 → the 9th smallest, 0.9.
    const own = detectionMetrics({ cleanScores, adversarialScores, fpr: 0.1 });
    expect(own.threshold).toBe(0.9);
    expect(own.falsePositiveRate).toBeCloseTo(0.1, 12);
    expect(own.detectionRate).toBeCloseTo(2 / 4, 12);

    const none = detectionMetrics({ cleanScores, adversarialScores: [], threshold: 0.5 });
    expect(none.detectionRate).toBeNull();
    expect(none.rocAuc).toBeNull();
  });
});
