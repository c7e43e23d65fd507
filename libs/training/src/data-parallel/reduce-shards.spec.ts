import { reduceShards } from './reduce-shards';

const outcome = (size: number, loss: number, gradient: number[], state: number[]) => ({
  size,
  loss,
  gradients: [Float32Array.from(gradient)],
  state: [Float32Array.from(state)],
});

describe('reduceShards', () => {
  it('weights loss, gradients and state by shard size', () => {
    const reduced = reduceShards([outcome(3, 1, [3, 0], [1]), outcome(1, 5, [-1, 4], [5])]);
    expect(reduced.loss).toBeCloseTo(2, 12);
    expect(Array.from(reduced.gradients[0])).toEqual([2, 1]);
    expect(Array.from(reduced.state[0])).toEqual([2]);
  });

  it('rounds to float32 once, after a float64 sum in shard order', () => {
    // Accumulated in float32 step by step, the two small terms would be lost: 1, not 1 + 2^-23.
    const tiny = 2 ** -24 * 3;
    const reduced = reduceShards([3, tiny, tiny].map((g) => ({ ...outcome(1, 0, [g], []), state: [] })));
    expect(reduced.gradients[0][0]).toBe(Math.fround(1 + 2 * (tiny / 3)));
    expect(reduced.gradients[0][0]).toBeGreaterThan(1);
  });

  it('refuses shards that disagree on a weight size, and an empty step', () => {
    expect(() => reduceShards([outcome(1, 0, [1, 2], [0]), outcome(1, 0, [1], [0])])).toThrow('disagree');
    expect(() => reduceShards([])).toThrow('no shard outcomes');
  });
});
