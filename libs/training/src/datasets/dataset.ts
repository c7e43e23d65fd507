import { createRng } from '../rng';

/**
 * An in-memory image classification dataset. Pixels stay uint8 (a quarter of float32's
 * memory); float batches are made on demand by `makeBatch`.
 */
export interface Dataset {
  readonly name: string;
  /** size × H × W × C bytes, 0..255, example-major. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  /** [H, W, C] of one example. */
  readonly shape: [number, number, number];
  readonly classNames: string[];
  readonly size: number;
}

export interface SplitOptions {
  /** Fraction of examples that go to the test split, in (0, 1). */
  testFraction: number;
  seed: number;
}

export interface DatasetSplit {
  train: Dataset;
  test: Dataset;
}

export function exampleLength(ds: Dataset): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** Seeded shuffle, then the first round(size × testFraction) examples become the test split. */
export function splitDataset(ds: Dataset, { testFraction, seed }: SplitOptions): DatasetSplit {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`testFraction must be in (0, 1), got ${testFraction}`);
  }
  const testCount = Math.round(ds.size * testFraction);
  if (testCount === 0 || testCount === ds.size) {
    throw new Error(`splitting ${ds.size} examples with testFraction ${testFraction} leaves one split empty`);
  }
  const order = createRng(seed).shuffle(Uint32Array.from({ length: ds.size }, (_, i) => i));
  return {
    train: takeExamples(ds, order.subarray(testCount), `${ds.name}/train`),
    test: takeExamples(ds, order.subarray(0, testCount), `${ds.name}/test`),
  };
}

/** The first `count` examples, for quick runs and tests. */
export function subsetDataset(ds: Dataset, count: number): Dataset {
  if (!Number.isInteger(count) || count <= 0 || count > ds.size) {
    throw new Error(`subset size must be an integer in [1, ${ds.size}], got ${count}`);
  }
  return takeExamples(ds, Uint32Array.from({ length: count }, (_, i) => i), `${ds.name}[0:${count}]`);
}

/** Copies the chosen examples, so a split never aliases (or pins) its parent's buffers. */
export function takeExamples(ds: Dataset, indices: Uint32Array, name: string): Dataset {
  const length = exampleLength(ds);
  const images = new Uint8Array(indices.length * length);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, i) => {
    if (index >= ds.size) {
      throw new Error(`example index ${index} out of range for ${ds.name} (size ${ds.size})`);
    }
    images.set(ds.images.subarray(index * length, (index + 1) * length), i * length);
    labels[i] = ds.labels[index];
  });
  return { name, images, labels, shape: [...ds.shape], classNames: [...ds.classNames], size: indices.length };
}
