import { createRng, restoreRng } from './rng';

describe('rng', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('continues the same sequence after its state is saved and restored', () => {
    const original = createRng(7);
    for (let i = 0; i < 5; i += 1) original.next();
    const saved = original.state();
    const expected = Array.from({ length: 10 }, () => original.next());

    const restored = restoreRng(JSON.parse(JSON.stringify(saved)) as number[]);

    expect(Array.from({ length: 10 }, () => restored.next())).toEqual(expected);
    expect(restored.state()).toEqual(original.state());
  });

  it('draws integers in range and shuffles into a permutation', () => {
    const rng = createRng(1);
    const draws = Array.from({ length: 1000 }, () => rng.int(10));
    expect(Math.min(...draws)).toBe(0);
    expect(Math.max(...draws)).toBe(9);

    const indices = Uint32Array.from({ length: 100 }, (_, i) => i);
    rng.shuffle(indices);
    expect(Array.from(indices).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(indices)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rejects malformed seeds and states', () => {
    expect(() => createRng(1.5)).toThrow(/seed/);
    expect(() => restoreRng([1, 2, 3])).toThrow(/state/);
    expect(() => restoreRng([1, 2, 3, -1])).toThrow(/state/);
    expect(() => createRng(1).int(0)).toThrow(/int/);
  });
});
