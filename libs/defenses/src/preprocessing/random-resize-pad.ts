import * as tf from '@tensorflow/tfjs';
import { createSeededRandom } from '@bulwark/attacks';
import { assertBatchImages, assertInteger, seedCounter, type Preprocessing } from './preprocessing';

export interface RandomResizePadOptions {
  /** Smallest side the image is resized to (s). */
  minSize: number;
  /** Largest side (S), inclusive. */
  maxSize: number;
  /** Side of the zero-padded canvas; default maxSize. */
  padSize?: number;
  seed: number;
}

/** One draw: the resized side and the canvas offsets, all inclusive ranges. */
export interface ResizePadDraw {
  size: number;
  top: number;
  left: number;
}

/**
 * Xie et al. (2018)'s randomisation layers for the draw `seed`: resize to size×size (size
 * uniform in [minSize, maxSize]), zero-pad to padSize×padSize at a random offset, then
 * resize back to the input's side so the same classifier takes it (Xie et al. fed the
 * larger canvas to their network; ours has a fixed input). One draw per call covers the
 * whole batch: per example the distribution is the same as Xie et al.'s per-image draws,
 * and one resize per batch keeps it to a handful of tfjs kernels. Bilinear rather than
 * their nearest-neighbour resizing, so the transform has a useful gradient for EOT.
 */
export function resizeAndPad(inputs: tf.Tensor, options: RandomResizePadOptions & { draw?: ResizePadDraw }): tf.Tensor4D {
  assertBatchImages(inputs, 'randomResizePadPreprocessing');
  const [, height, width] = inputs.shape;
  if (height !== width) throw new Error(`randomResizePadPreprocessing needs square images, got ${height}×${width}`);
  const { minSize, maxSize } = options;
  const padSize = options.padSize ?? maxSize;
  const { size, top, left } = options.draw ?? drawResizePad({ minSize, maxSize, padSize }, options.seed);
  return tf.tidy(() => {
    const resized = size === height ? inputs : tf.image.resizeBilinear(inputs, [size, size]);
    const padded = tf.pad(resized, [
      [0, 0],
      [top, padSize - size - top],
      [left, padSize - size - left],
      [0, 0],
    ]);
    return padSize === height ? padded : tf.image.resizeBilinear(padded, [height, width]);
  });
}

/** The draw for `seed`: side, then top and left offsets. */
export function drawResizePad({ minSize, maxSize, padSize }: { minSize: number; maxSize: number; padSize: number }, seed: number): ResizePadDraw {
  const rng = createSeededRandom(seed);
  const size = minSize + rng.int(maxSize - minSize + 1);
  return { size, top: rng.int(padSize - size + 1), left: rng.int(padSize - size + 1) };
}

/** Random resizing and padding at inference (truly random per call, seeded by a counter); attacked with EOT. */
export function randomResizePadPreprocessing(options: RandomResizePadOptions): Preprocessing {
  const { minSize, maxSize, seed } = options;
  const padSize = options.padSize ?? maxSize;
  assertInteger(minSize, 1, 4096, 'minSize');
  assertInteger(maxSize, minSize, 4096, 'maxSize');
  assertInteger(padSize, maxSize, 4096, 'padSize');
  const settings = { minSize, maxSize, padSize, seed };
  const next = seedCounter(seed);
  return {
    spec: { kind: 'random-resize-pad', minSize, maxSize, padSize, seed },
    apply: (x) => resizeAndPad(x, { ...settings, seed: next() }),
    treatment: 'eot',
    randomTransform: (x, drawSeed) => resizeAndPad(x, { ...settings, seed: drawSeed }),
    masksGradients: false,
  };
}
