import * as tf from '@tensorflow/tfjs';
import { assertShape } from './conv2d-backprop-filter.kernel';
import { requireInput, type ComposedKernel, type WasmKernelScope } from './wasm-kernel-scope';

/** Pads windows that reach past x: below every real value, and finite, so 0 · pad = 0. */
const LOWEST_FLOAT32 = -3.4028234663852886e38;

/**
 * ∂L/∂x of a max pool: each window's gradient goes to its first maximum in row-major order, as
 * in TensorFlow and tfjs's cpu backend. This replaces wasm's own MaxPoolGrad, which is slow and
 * wrong where a window's maximum is negative (its gradient lands on the window's first pixel,
 * or is lost). Built from kernels that
 * XNNPACK runs fast (broadcasting Sub/Mul, Step, pools, depthwise conv), not from
 * Equal/Select/Tile, which the wasm backend broadcasts element by element.
 *
 * For the K = kh·kw values x_k of a window, its maximum y (the pool's output) and r_k = K − k:
 *   key_k = step(y − x_k, −1) · −r_k          r_k where x_k = y, −r_k below it
 *   first_k = step(key_k − max_k(key_k) + 1)  1 at the first maximum, 0 elsewhere (keys are integers)
 *   dx at x_k's pixel += first_k · dy
 */
export const maxPoolGradKernel: ComposedKernel = (scope, inputs, attrs) => {
  const dy = requireInput(inputs, 'dy');
  const x = requireInput(inputs, 'input');
  const y = requireInput(inputs, 'output');
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  if (x.dtype !== 'float32') {
    throw new Error(`MaxPoolGrad on wasm supports float32 only, got ${x.dtype}`);
  }
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  assertShape(tf.MaxPoolGrad, 'dy', dy.shape, info.outShape);
  assertShape(tf.MaxPoolGrad, 'output', y.shape, info.outShape);
  const tiling = info.strideHeight === info.filterHeight && info.strideWidth === info.filterWidth;
  return tiling ? tilingWindows(scope, info, x, y, dy) : anyWindows(scope, info, x, y, dy);
};

/** x padded to the rows and columns the windows read, [−top, −top + extent), and the rows no window reads. */
function windowedInput(scope: WasmKernelScope, info: tf.backend_util.Conv2DInfo, x: tf.TensorInfo, extent: [number, number], padValue: number) {
  const { batchSize, inHeight, inWidth, inChannels, padInfo } = info;
  const padBottom = extent[0] - padInfo.top - inHeight;
  const padRight = extent[1] - padInfo.left - inWidth;
  const unread: [number, number] = [Math.max(-padBottom, 0), Math.max(-padRight, 0)];
  const read = scope.crop(x, [0, 0, 0, 0], [batchSize, inHeight - unread[0], inWidth - unread[1], inChannels]);
  const covered = scope.pad(
    read,
    [
      [0, 0],
      [padInfo.top, Math.max(padBottom, 0)],
      [padInfo.left, Math.max(padRight, 0)],
      [0, 0],
    ],
    padValue,
  );
  return { covered, unread };
}

/** The gradient over the windows' extent back to x's shape: padding dropped, unread rows zero. */
function toInputShape(scope: WasmKernelScope, info: tf.backend_util.Conv2DInfo, gradient: tf.TensorInfo, unread: [number, number]) {
  const { batchSize, inHeight, inWidth, inChannels, padInfo } = info;
  const readGradient = scope.crop(gradient, [0, padInfo.top, padInfo.left, 0], [batchSize, inHeight - unread[0], inWidth - unread[1], inChannels]);
  return scope.pad(readGradient, [
    [0, 0],
    [0, unread[0]],
    [0, unread[1]],
    [0, 0],
  ]);
}

/** r_k negated, k in row-major window order. */
function negatedRanks(windowSize: number): number[] {
  return Array.from({ length: windowSize }, (_, k) => k - windowSize);
}

/**
 * Stride = window (the usual 2×2/2): x reshaped to [N, Ho, kh, Wo, kw, C] holds each window's
 * values in place, so everything is a broadcast against y and dy viewed as [N, Ho, 1, Wo, 1, C].
 */
function tilingWindows(scope: WasmKernelScope, info: tf.backend_util.Conv2DInfo, x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo) {
  const { batchSize, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const extent: [number, number] = [outHeight * filterHeight, outWidth * filterWidth];
  const { covered, unread } = windowedInput(scope, info, x, extent, -Infinity);
  const windowed = [batchSize, outHeight, filterHeight, outWidth, filterWidth, inChannels];
  const perWindow = [batchSize, outHeight, 1, outWidth, 1, inChannels];

  const below = scope.run(tf.Sub, { a: scope.reshape(y, perWindow), b: scope.reshape(covered, windowed) });
  const side = scope.run(tf.Step, { x: below }, { alpha: -1 });
  const ranks = scope.constant(negatedRanks(filterHeight * filterWidth), [1, 1, filterHeight, 1, filterWidth, 1]);
  const key = scope.run(tf.Multiply, { a: side, b: ranks });
  const firstKey = scope.run(
    tf.MaxPool,
    { x: scope.reshape(key, [batchSize, ...extent, inChannels]) },
    { filterSize: [filterHeight, filterWidth], strides: [filterHeight, filterWidth], pad: 'valid' },
  );
  const threshold = scope.run(tf.Sub, { a: firstKey, b: scope.constant([1], []) });
  const first = scope.run(tf.Step, { x: scope.run(tf.Sub, { a: key, b: scope.reshape(threshold, perWindow) }) }, { alpha: 0 });
  const gradient = scope.run(tf.Multiply, { a: first, b: scope.reshape(dy, perWindow) });
  return toInputShape(scope, info, scope.reshape(gradient, [batchSize, ...extent, inChannels]), unread);
}

/**
 * Overlapping or gapped windows: each window's K values are gathered as [N, Ho, Wo, C, K]; each window position's gradient is then spread back
 * (dilated by the stride, shifted by the position) and summed.
 */
function anyWindows(scope: WasmKernelScope, info: tf.backend_util.Conv2DInfo, x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo) {
  const { batchSize, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const windowSize = filterHeight * filterWidth;
  const extent: [number, number] = [(outHeight - 1) * strideHeight + filterHeight, (outWidth - 1) * strideWidth + filterWidth];
  const { covered, unread } = windowedInput(scope, info, x, extent, LOWEST_FLOAT32);

  const gathered = scope.windows(covered, [filterHeight, filterWidth], { strides: [strideHeight, strideWidth], pad: 'valid' });
  const values = scope.reshape(gathered, [batchSize, outHeight, outWidth, inChannels, windowSize]);
  const perWindow = [batchSize, outHeight, outWidth, inChannels, 1];
  const below = scope.run(tf.Sub, { a: scope.reshape(y, perWindow), b: values });
  const side = scope.run(tf.Step, { x: below }, { alpha: -1 });
  const key = scope.run(tf.Multiply, { a: side, b: scope.constant(negatedRanks(windowSize), [windowSize]) });
  const firstKey = scope.run(tf.Max, { x: key }, { reductionIndices: [4], keepDims: true });
  const threshold = scope.run(tf.Sub, { a: firstKey, b: scope.constant([1], []) });
  const first = scope.run(tf.Step, { x: scope.run(tf.Sub, { a: key, b: threshold }) }, { alpha: 0 });
  const perPosition = scope.run(tf.Multiply, { a: first, b: scope.reshape(dy, perWindow) });

  // [K, N, Ho, 1, Wo, 1, C], zero-padded to the stride: position k's gradient on x's grid.
  const byPosition = scope.transpose(perPosition, [4, 0, 1, 2, 3]);
  const spread = scope.reshape(
    scope.pad(scope.reshape(byPosition, [windowSize * batchSize, outHeight, 1, outWidth, 1, inChannels]), [
      [0, 0],
      [0, 0],
      [0, strideHeight - 1],
      [0, 0],
      [0, strideWidth - 1],
      [0, 0],
    ]),
    [windowSize, batchSize, outHeight * strideHeight, outWidth * strideWidth, inChannels],
  );
  // Rows past the extent hold only the stride's zero padding.
  const [rows, cols] = [Math.min(outHeight * strideHeight, extent[0]), Math.min(outWidth * strideWidth, extent[1])];
  let sum: tf.TensorInfo | undefined;
  for (let k = 0; k < windowSize; k += 1) {
    const [a, b] = [Math.floor(k / filterWidth), k % filterWidth];
    const rowsHere = Math.min(rows, extent[0] - a);
    const colsHere = Math.min(cols, extent[1] - b);
    const own = scope.reshape(scope.crop(spread, [k, 0, 0, 0, 0], [1, batchSize, rowsHere, colsHere, inChannels]), [batchSize, rowsHere, colsHere, inChannels]);
    const shifted = scope.pad(own, [
      [0, 0],
      [a, extent[0] - a - rowsHere],
      [b, extent[1] - b - colsHere],
      [0, 0],
    ]);
    sum = sum === undefined ? shifted : scope.run(tf.Add, { a: sum, b: shifted });
  }
  return toInputShape(scope, info, sum as tf.TensorInfo, unread);
}
