import * as tf from '@tensorflow/tfjs';
import { batchIterator, makeBatch, sequentialBatches } from './batches';
import { seededSubset, seededSubsets, splitDataset, subsetDataset, validationSplit, type Dataset } from './dataset';
import { loadMnistDigits } from './mnist-digits.dataset';
import { createRng } from './rng';
import { selectBackend } from '@bulwark/tfjs-runtime';

/** Example i has every pixel equal to i and label i % 3, so examples can be traced. */
function tracedDataset(size: number): Dataset {
  const images = new Uint8Array(size * 4);
  for (let i = 0; i < size; i += 1) images.fill(i, i * 4, (i + 1) * 4);
  return {
    name: 'traced',
    images,
    labels: Uint8Array.from({ length: size }, (_, i) => i % 3),
    shape: [2, 2, 1],
    classNames: ['a', 'b', 'c'],
    size,
  };
}

const ids = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => ds.images[i * 4]);

describe('datasets', () => {
  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  it('loads the 10,000 mnist digits as uint8, classes interleaved', () => {
    // No time limit here: how fast it loads is a machine's property, not a test's (benchmarks).
    const ds = loadMnistDigits();

    expect(ds.size).toBe(10_000);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.images.length).toBe(10_000 * 784);
    expect(Array.from(ds.labels.subarray(0, 20))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perClass = new Array<number>(10).fill(0);
    ds.labels.forEach((label) => (perClass[label] += 1));
    expect(perClass.every((n) => n > 800 && n < 1200)).toBe(true);
    expect(Math.max(...ds.images.subarray(0, 784))).toBe(255);
    // A digit is mostly background.
    expect(ds.images.subarray(0, 784).filter((v) => v === 0).length).toBeGreaterThan(400);
  });

  it('splits by a seeded shuffle into disjoint, covering parts', () => {
    const ds = tracedDataset(100);
    const { train, test } = splitDataset(ds, { testFraction: 0.2, seed: 1 });
    const again = splitDataset(ds, { testFraction: 0.2, seed: 1 });
    const other = splitDataset(ds, { testFraction: 0.2, seed: 2 });

    expect([train.size, test.size]).toEqual([80, 20]);
    expect([...ids(train), ...ids(test)].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(ids(test)).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(ids(again.test)).toEqual(ids(test));
    expect(ids(other.test)).not.toEqual(ids(test));
    expect(
      ids(train)
        .map((id, i) => train.labels[i] === id % 3)
        .every(Boolean),
    ).toBe(true);
    expect(ids(subsetDataset(ds, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(() => splitDataset(ds, { testFraction: 1, seed: 1 })).toThrow(/testFraction/);
    expect(() => subsetDataset(ds, 101)).toThrow(/subset/);
  });

  it('carves a seeded validation split out of a training set, disjoint and covering', () => {
    const ds = tracedDataset(50);
    const { train, validation } = validationSplit(ds, { validationFraction: 0.1, seed: 5 });

    expect([train.name, validation.name]).toEqual(['traced/train', 'traced/validation']);
    expect([train.size, validation.size]).toEqual([45, 5]);
    expect([...ids(train), ...ids(validation)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ids(validationSplit(ds, { validationFraction: 0.1, seed: 5 }).validation)).toEqual(ids(validation));
    expect(ids(validationSplit(ds, { validationFraction: 0.1, seed: 6 }).validation)).not.toEqual(ids(validation));
    // Same shuffle as splitDataset, so a seed picks the same held-out examples either way.
    expect(ids(validation)).toEqual(ids(splitDataset(ds, { testFraction: 0.1, seed: 5 }).test));
    expect(() => validationSplit(ds, { validationFraction: 0, seed: 1 })).toThrow('validationFraction must be in (0, 1), got 0');
    expect(() => validationSplit(ds, { validationFraction: 0.001, seed: 1 })).toThrow(/leaves one split empty/);
  });

  it('iterates shuffled batches that cover each epoch once, differently per epoch', () => {
    const ds = tracedDataset(10);
    const rng = createRng(3);
    const epoch1 = Array.from(batchIterator(ds, { batchSize: 4, rng }), ({ indices }) => Array.from(indices));
    const epoch2 = Array.from(batchIterator(ds, { batchSize: 4, rng }), ({ indices }) => Array.from(indices));

    expect(epoch1.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(epoch1.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch2.flat()).not.toEqual(epoch1.flat());
    expect(Array.from(sequentialBatches(ds, 4), ({ indices }) => Array.from(indices))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('makes float batches in [0,1] and int32 labels on demand', () => {
    const ds = tracedDataset(256);
    const { x, y } = makeBatch(ds, Uint32Array.from([255, 0, 51]));

    expect(x.shape).toEqual([3, 2, 2, 1]);
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.dataSync())).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.2].map(Math.fround));
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([x, y]);
    expect(() => makeBatch(ds, Uint32Array.from([256]))).toThrow(/out of range/);
  });
});

describe('seededSubset', () => {
  const ds = {
    name: 'toy',
    images: Uint8Array.from({ length: 100 }, (_, i) => i),
    labels: Uint8Array.from({ length: 100 }, (_, i) => i % 10),
    shape: [1, 1, 1] as [number, number, number],
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    size: 100,
  };

  it('picks the same examples for the same seed, in dataset order, and others for another seed', () => {
    const a = seededSubset(ds, { count: 10, seed: 1 });
    expect(a.size).toBe(10);
    expect([...a.images]).toEqual([...seededSubset(ds, { count: 10, seed: 1 }).images]);
    expect([...a.images]).toEqual([...a.images].sort((x, y) => x - y));
    expect([...a.images]).not.toEqual([...seededSubset(ds, { count: 10, seed: 2 }).images]);
    expect([...a.labels]).toEqual([...a.images].map((i) => i % 10));
  });

  it('keeps the whole set when asked for more than it has', () => {
    expect(seededSubset(ds, { count: 1000, seed: 1 })).toBe(ds);
  });

  it('cuts disjoint subsets from one shuffle, the first the same as seededSubset, the last cut short when the set runs out', () => {
    const [first, second, third] = seededSubsets(ds, { counts: [30, 50, 40], seed: 3 });
    expect([...first.images]).toEqual([...seededSubset(ds, { count: 30, seed: 3 }).images]);
    expect(first.name).toBe(seededSubset(ds, { count: 30, seed: 3 }).name);
    expect(second.size).toBe(50);
    expect(third.size).toBe(20);
    const all = [...first.images, ...second.images, ...third.images];
    expect(new Set(all).size).toBe(100);
    expect([...second.images]).toEqual([...second.images].sort((x, y) => x - y));
    expect(seededSubsets(ds, { counts: [100, 5], seed: 3 })[1].size).toBe(0);
    expect(() => seededSubsets(ds, { counts: [0], seed: 3 })).toThrow(/positive integer/);
  });
});
