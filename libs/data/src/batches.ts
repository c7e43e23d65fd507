import * as tf from '@tensorflow/tfjs';
import { exampleLength, type Dataset } from './dataset';
import type { Rng } from './rng';

export interface BatchIteratorOptions {
  batchSize: number;
  /** Drives the shuffle; it is consumed when iteration starts, not when this is called. */
  rng: Rng;
}

export interface BatchIndices {
  indices: Uint32Array;
}

export interface Batch {
  /** float32 in [0,1], [B, H, W, C]. */
  x: tf.Tensor4D;
  /** int32 class ids, [B]. */
  y: tf.Tensor1D;
}

/**
 * One epoch of shuffled mini-batches (the last one may be smaller). Each epoch shuffles a
 * fresh identity permutation, so the order depends only on the rng state at its start:
 * that is what makes a resumed run see the same batches.
 */
export function* batchIterator(ds: Dataset, { batchSize, rng }: BatchIteratorOptions): Generator<BatchIndices> {
  assertBatchSize(batchSize);
  const order = rng.shuffle(Uint32Array.from({ length: ds.size }, (_, i) => i));
  for (let start = 0; start < ds.size; start += batchSize) {
    yield { indices: order.subarray(start, start + batchSize) };
  }
}

/** Unshuffled batches, for evaluation. */
export function* sequentialBatches(ds: Dataset, batchSize: number): Generator<BatchIndices> {
  assertBatchSize(batchSize);
  for (let start = 0; start < ds.size; start += batchSize) {
    yield { indices: Uint32Array.from({ length: Math.min(batchSize, ds.size - start) }, (_, i) => start + i) };
  }
}

export function batchCount(ds: Dataset, batchSize: number): number {
  return Math.ceil(ds.size / batchSize);
}

/** Float tensors for the given examples; the caller disposes both. */
export function makeBatch(ds: Dataset, indices: Uint32Array): Batch {
  const length = exampleLength(ds);
  const bytes = new Uint8Array(indices.length * length);
  const labels = new Int32Array(indices.length);
  indices.forEach((index, i) => {
    if (index >= ds.size) {
      throw new Error(`example index ${index} out of range for ${ds.name} (size ${ds.size})`);
    }
    bytes.set(ds.images.subarray(index * length, (index + 1) * length), i * length);
    labels[i] = ds.labels[index];
  });
  const [h, w, c] = ds.shape;
  return tf.tidy(() => ({
    // div, not mul by 1/255: 255/255 must be exactly 1 so clean inputs sit inside the box.
    x: tf.div<tf.Tensor4D>(tf.tensor4d(Float32Array.from(bytes), [indices.length, h, w, c]), 255),
    y: tf.tensor1d(labels, 'int32'),
  }));
}

function assertBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
}
