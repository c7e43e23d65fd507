import { createRng } from './rng';

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
  const [kept, heldOut] = seededPartition(ds, 'testFraction', testFraction, seed);
  return {
    train: takeExamples(ds, kept, `${ds.name}/train`),
    test: takeExamples(ds, heldOut, `${ds.name}/test`),
  };
}

export interface ValidationSplitOptions {
  /** Fraction of the training examples held out for validation, in (0, 1). */
  validationFraction: number;
  seed: number;
}

export interface TrainValidationSplit {
  train: Dataset;
  validation: Dataset;
}

/**
 * Carves a validation set out of a training set (never out of a test set: model selection
 * on the test set makes its accuracy optimistic). Same seeded shuffle as `splitDataset`.
 */
export function validationSplit(train: Dataset, { validationFraction, seed }: ValidationSplitOptions): TrainValidationSplit {
  const [kept, heldOut] = seededPartition(train, 'validationFraction', validationFraction, seed);
  return {
    train: takeExamples(train, kept, `${train.name}/train`),
    validation: takeExamples(train, heldOut, `${train.name}/validation`),
  };
}

/** [kept, held out]: a seeded shuffle whose first round(size × fraction) indices are held out. */
function seededPartition(ds: Dataset, option: string, fraction: number, seed: number): [Uint32Array, Uint32Array] {
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`${option} must be in (0, 1), got ${fraction}`);
  }
  const heldOutCount = Math.round(ds.size * fraction);
  if (heldOutCount === 0 || heldOutCount === ds.size) {
    throw new Error(`splitting ${ds.size} examples with ${option} ${fraction} leaves one split empty`);
  }
  const order = createRng(seed).shuffle(Uint32Array.from({ length: ds.size }, (_, i) => i));
  return [order.subarray(heldOutCount), order.subarray(0, heldOutCount)];
}

/** The first `count` examples, for quick runs and tests. */
export function subsetDataset(ds: Dataset, count: number): Dataset {
  if (!Number.isInteger(count) || count <= 0 || count > ds.size) {
    throw new Error(`subset size must be an integer in [1, ${ds.size}], got ${count}`);
  }
  return takeExamples(
    ds,
    Uint32Array.from({ length: count }, (_, i) => i),
    `${ds.name}[0:${count}]`,
  );
}

/**
 * A seeded random subset of `count` examples (all of them if the set is smaller), kept in
 * dataset order: the same seed and count always pick the same examples, so every defense
 * compared on it is measured on the same inputs.
 */
export function seededSubset(ds: Dataset, { count, seed }: { count: number; seed: number }): Dataset {
  if (!Number.isInteger(count) || count <= 0) throw new Error(`subset size must be a positive integer, got ${count}`);
  if (count >= ds.size) return ds;
  return seededSubsets(ds, { counts: [count], seed })[0];
}

/**
 * Disjoint seeded subsets, each kept in dataset order: one seeded shuffle, cut into
 * consecutive runs of `counts[k]` examples. The first equals `seededSubset(ds, { count:
 * counts[0], seed })`, so a later subset extends a choice already made without overlapping it.
 * A subset the set has too few examples left for is cut short (possibly to nothing).
 */
export function seededSubsets(ds: Dataset, { counts, seed }: { counts: readonly number[]; seed: number }): Dataset[] {
  for (const count of counts) if (!Number.isInteger(count) || count <= 0) throw new Error(`subset size must be a positive integer, got ${count}`);
  const order = createRng(seed).shuffle(Uint32Array.from({ length: ds.size }, (_, i) => i));
  let start = 0;
  return counts.map((count) => {
    const end = Math.min(start + count, ds.size);
    const chosen = order.slice(start, end).sort();
    const name = start === 0 ? `${ds.name}[seed ${seed}, ${count}]` : `${ds.name}[seed ${seed}, ${start}:${start + count}]`;
    start = end;
    return takeExamples(ds, chosen, name);
  });
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

/** Throws, naming `source`, at the first label that is not a valid class index. */
export function assertLabelsInRange(labels: Uint8Array, classCount: number, source: string): void {
  for (let i = 0; i < labels.length; i += 1) {
    if (labels[i] >= classCount) {
      throw new Error(`${source}: label ${labels[i]} at index ${i} is out of range: expected 0..${classCount - 1} (${classCount} classes)`);
    }
  }
}
