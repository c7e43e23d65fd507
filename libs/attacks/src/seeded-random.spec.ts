import { createSeededRandom } from './seeded-random';

describe('createSeededRandom', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const rng = createSeededRandom(seed);
      return [rng.next(), rng.int(10), rng.sign(), rng.tensorSeed()];
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it('draws uniformly: means, ranges and signs as expected over many draws', () => {
    const rng = createSeededRandom(1);
    const n = 20000;
    let sum = 0;
    let signs = 0;
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < n; i += 1) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      signs += rng.sign();
      counts[rng.int(4)] += 1;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(Math.abs(signs / n)).toBeLessThan(0.03);
    counts.forEach((c) => expect(Math.abs(c / n - 0.25)).toBeLessThan(0.02));
    const seed = rng.tensorSeed();
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31).toBe(true);
    expect(() => createSeededRandom(0.5)).toThrow(/seed/);
    expect(() => rng.int(0)).toThrow(/positive/);
  });
});
