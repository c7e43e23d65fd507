import * as tf from '@tensorflow/tfjs';
import { assertBatchImages, assertInteger, identityTransform, type Preprocessing } from './preprocessing';

/**
 * k×k median filter per channel, with SciPy's conventions as in Xu et al.'s code
 * (ndimage.median_filter): edges mirrored with the edge pixel repeated (SciPy's 'reflect'),
 * the window anchored at offset ⌊k/2⌋, and for an even window the upper median (rank ⌊k²/2⌋
 * of k² ascending values).
 *
 * Kept inside fast tfjs kernels (wasm's Slice, Stack and broadcasting ops are slow loops):
 * channels go into the batch, mirror padding is two products with 0/1 matrices, the k²
 * shifted windows come out of one convolution with one-hot filters (each output is one
 * pixel times 1 plus zeros, so exact), top-k finds the median, and a custom gradient sends
 * each output's gradient back to the window pixel(s) equal to it: the naive view gets the
 * filter's true gradient almost everywhere (top-k has none in tfjs; mirrorPad's drops what
 * flows back through the border).
 */
export function medianFilter(inputs: tf.Tensor, size: number): tf.Tensor4D {
  assertBatchImages(inputs, 'medianFilter');
  assertInteger(size, 1, 15, 'size');
  const [batch, height, width, channels] = inputs.shape;
  if (size === 1) return tf.clone(inputs);
  if (Math.floor(size / 2) > Math.min(height, width)) throw new Error(`medianFilter: a ${size}×${size} window does not fit ${height}×${width} images`);
  return tf.tidy(() => {
    const planes =
      channels === 1 ? tf.reshape(inputs, [batch, height, width]) : tf.reshape(tf.transpose(inputs, [0, 3, 1, 2]), [batch * channels, height, width]);
    const count = planes.shape[0];
    const paddedWidth = width + size - 1;
    const rows = tf.reshape(tf.matMul(tf.reshape(planes, [count * height, width]), mirrorMatrix(width, size, true)), [count, height, paddedWidth]);
    const padded = tf.matMul(tf.expandDims(mirrorMatrix(height, size, false), 0), rows);
    const windows = tf.conv2d(tf.expandDims<tf.Tensor4D>(padded, 3), windowKernel(size), 1, 'valid');
    const median = selectMedian(windows) as tf.Tensor3D;
    if (channels === 1) return tf.reshape<tf.Rank.R4>(median, [batch, height, width, 1]);
    return tf.transpose<tf.Tensor4D>(tf.reshape(median, [batch, channels, height, width]), [0, 2, 3, 1]);
  });
}

/**
 * The 0/1 matrix that pads an axis of length n by mirroring (d c b a | a b c d | d c b a),
 * ⌊k/2⌋ before and the rest after: [n + k − 1, n], or its transpose [n, n + k − 1].
 */
function mirrorMatrix(n: number, size: number, transposed: boolean): tf.Tensor2D {
  const before = Math.floor(size / 2);
  const padded = n + size - 1;
  const values = new Float32Array(padded * n);
  for (let i = 0; i < padded; i += 1) {
    const shifted = i - before;
    const source = shifted < 0 ? -shifted - 1 : shifted >= n ? 2 * n - shifted - 1 : shifted;
    values[transposed ? source * padded + i : i * n + source] = 1;
  }
  return tf.tensor2d(values, transposed ? [n, padded] : [padded, n]);
}

/** [k, k, 1, k²] one-hot filters: output channel dy·k + dx copies the pixel at (dy, dx) of the window. */
function windowKernel(size: number): tf.Tensor4D {
  const taps = size * size;
  const values = new Float32Array(taps * taps);
  for (let tap = 0; tap < taps; tap += 1) values[tap * taps + tap] = 1;
  return tf.tensor4d(values, [size, size, 1, taps]);
}

/**
 * The value of rank ⌊n/2⌋ (ascending) over the last axis, n = window size: the smallest of
 * the n − ⌊n/2⌋ largest. The gradient goes to the window entries equal to it, split evenly
 * among ties; the mask is built with products by a row of ones, not broadcasting ops.
 */
const selectMedian = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const windows = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const taps = windows.shape[windows.rank - 1];
  const { values, indices } = tf.topk(windows, taps - Math.floor(taps / 2), true);
  const median = tf.min(values, -1);
  tf.dispose([values, indices]);
  save([windows, median]);
  return {
    value: median,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [kept, med] = saved;
      const rows = kept.size / taps;
      const ones = tf.ones([1, taps]);
      const mask = tf.cast(tf.equal(tf.reshape(kept, [rows, taps]), tf.matMul(tf.reshape(med, [rows, 1]), ones)), 'float32');
      const share = tf.div(tf.reshape(dy as tf.Tensor, [rows, 1]), tf.sum(mask, 1, true));
      return tf.reshape(tf.mul(mask, tf.matMul(share, ones)), kept.shape);
    },
  };
});

/**
 * Feature squeezing by local smoothing. The attack-side gradient is the identity (BPDA):
 * the filter's own gradient exists but routes each output to a single input pixel, which
 * is a poor ascent direction; the straight-through estimator is what broke it in Athalye et al.
 */
export function medianFilterPreprocessing({ size }: { size: number }): Preprocessing {
  assertInteger(size, 1, 15, 'size');
  return {
    spec: { kind: 'median-filter', size },
    apply: (x) => medianFilter(x, size),
    treatment: 'bpda',
    approximation: identityTransform,
    masksGradients: false,
  };
}
