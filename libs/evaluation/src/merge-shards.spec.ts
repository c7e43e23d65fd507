import type { EvaluationAttackName } from '@bulwark/spec';
import { mergeShards } from './merge-shards';
import { type ShardGalleryExample, type ShardResult } from './robustness-evaluation';

/** A one-pixel gallery entry: only the index and the attack matter to the merge. */
const entry = (exampleIndex: number, attack: EvaluationAttackName | null): ShardGalleryExample => ({
  exampleIndex,
  attack,
  label: 0,
  cleanPrediction: 0,
  adversarialPrediction: attack === null ? 0 : 1,
  shape: [1, 1, 1],
  clean: [exampleIndex],
  adversarial: [exampleIndex + 1],
  linfNorm: attack === null ? 0 : 0.1,
  l2Norm: attack === null ? 0 : 0.1,
});

const checks = {
  flags: [{ flag: 'zero-or-nan-gradients' as const, raised: false, examples: [], detail: 'fine' }],
  probe: { epsilon: 0.5, broken: [true, true, true, true] },
};

/** Examples 0..3: all clean-correct; fgsm breaks 3, pgd breaks 1 and 3; the gallery met 3 (fgsm) before 1 (pgd). */
const first: ShardResult = {
  start: 0,
  size: 4,
  labels: [0, 0, 0, 0],
  cleanPredictions: [0, 0, 0, 0],
  points: [
    {
      epsilon: 0.1,
      attacks: [
        { attack: 'fgsm', broken: [false, false, false, true], seconds: 1, details: { seed: 1, norm: 'linf' } },
        { attack: 'pgd', broken: [false, true, false, true], seconds: 2, details: { seed: 1, norm: 'linf' } },
      ],
      gallery: [entry(3, 'fgsm'), entry(1, 'pgd'), entry(0, null)],
    },
  ],
  checks,
  stopped: false,
};

/** Examples 4..6: 4 is wrong when clean; pgd breaks 6 and 5, met in that order. */
const second: ShardResult = {
  start: 4,
  size: 3,
  labels: [0, 0, 0],
  cleanPredictions: [1, 0, 0],
  points: [
    {
      epsilon: 0.1,
      attacks: [
        { attack: 'fgsm', broken: [false, false, false], seconds: 0.5, details: { seed: 1, norm: 'linf' } },
        { attack: 'pgd', broken: [true, true, true], seconds: 0.25, details: { seed: 1, norm: 'linf' } },
      ],
      gallery: [entry(6, 'pgd'), entry(5, 'pgd'), entry(4, 'pgd')],
    },
  ],
  checks: null,
  stopped: false,
};

describe('mergeShards', () => {
  const merged = mergeShards([first, second], { n: 7, norm: 'linf', galleryPerEpsilon: 3 });

  it('counts per example over all shards and sums the seconds', () => {
    expect(merged.n).toBe(7);
    const rows = merged.points[0].outcomes.map((o) => [o.attack, o.n, o.cleanCorrect, o.robustCorrect, o.seconds]);
    expect(rows).toEqual([
      ['fgsm', 7, 6, 5, 1.5],
      ['pgd', 7, 6, 2, 2.25],
      ['suite', 7, 6, 2, 3.75],
    ]);
  });

  it('keeps the broken examples the single pass meets first, across shards, and tops up with unbroken ones only when short', () => {
    expect(merged.points[0].gallery.map((g) => [g.exampleIndex, g.attack])).toEqual([
      [1, 'pgd'],
      [3, 'fgsm'],
      [6, 'pgd'],
    ]);
    expect(merged.points[0].gallery[0].clean).toEqual(Uint8Array.from([1]));
    const wide = mergeShards([first, second], { n: 7, norm: 'linf', galleryPerEpsilon: 6 });
    expect(wide.points[0].gallery.map((g) => g.exampleIndex)).toEqual([0, 1, 3, 4, 5, 6]);
  });

  it('takes the model checks from the first shard and the probe against clean correctness', () => {
    expect(merged.flags[0]).toEqual(checks.flags[0]);
    const probe = merged.flags.find((f) => f.flag === 'not-broken-at-large-epsilon')!;
    expect(probe.detail).toMatch(/^PGD probe at ε = 0.5 on 4 examples: robust accuracy 0\.000/);
  });

  it('refuses stopped shards and shards out of order', () => {
    expect(() => mergeShards([first, { ...second, stopped: true }], { n: 7, norm: 'linf', galleryPerEpsilon: 3 })).toThrow(/stopped/);
    expect(() => mergeShards([second, first], { n: 7, norm: 'linf', galleryPerEpsilon: 3 })).toThrow(/starts at example 4 where 0/);
  });
});
