import * as tf from '@tensorflow/tfjs';
import { assertShape } from './conv2d-backprop-filter.kernel';
import { assertChannelsLast, requireInput, type ComposedKernel } from './wasm-kernel-scope';

/**
 * ∂L/∂x of an NHWC convolution, run as one wasm (XNNPACK) convolution instead of wasm's own
 * Conv2DBackpropInput, a plain loop about ten times slower than the forward convolution:
 *
 *   dx[n,h,w,c] = Σ_{i,j,a,b,o : i·sh − top + a = h, j·sw − left + b = w} dy[n,i,j,o] · f[a,b,c,o]
 *
 * is the stride-1 convolution of dy, dilated by the stride (sh − 1 zero rows after each row),
 * with the filter flipped in space and its channel axes swapped, padded by fh − 1 − top above
 * and by whatever makes the output H rows below. Negative padding crops rows of dy that reach
 * no pixel of x (zeros of the dilation, or windows lying wholly in the forward padding).
 */
export const conv2DBackpropInputKernel: ComposedKernel = (scope, inputs, attrs) => {
  const dy = requireInput(inputs, 'dy');
  const filter = requireInput(inputs, 'filter');
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertChannelsLast(tf.Conv2DBackpropInput, dataFormat);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  assertShape(tf.Conv2DBackpropInput, 'dy', dy.shape, info.outShape);
  const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, padInfo } = info;

  let dilated = dy;
  if (strideHeight > 1 || strideWidth > 1) {
    const spread = scope.reshape(dy, [batchSize, outHeight, 1, outWidth, 1, outChannels]);
    const zeros = scope.pad(spread, [
      [0, 0],
      [0, 0],
      [0, strideHeight - 1],
      [0, 0],
      [0, strideWidth - 1],
      [0, 0],
    ]);
    dilated = scope.reshape(zeros, [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels]);
  }
  const [rows, cols] = [dilated.shape[1], dilated.shape[2]];
  const top = filterHeight - 1 - padInfo.top;
  const left = filterWidth - 1 - padInfo.left;
  // rows + top + bottom − fh + 1 = H
  const bottom = inHeight - rows + padInfo.top;
  const right = inWidth - cols + padInfo.left;
  const [cropTop, cropBottom, cropLeft, cropRight] = [top, bottom, left, right].map((p) => Math.max(-p, 0));
  const reaching = scope.crop(dilated, [0, cropTop, cropLeft, 0], [batchSize, rows - cropTop - cropBottom, cols - cropLeft - cropRight, outChannels]);

  const padding = [
    [0, 0],
    [Math.max(top, 0), Math.max(bottom, 0)],
    [Math.max(left, 0), Math.max(right, 0)],
    [0, 0],
  ];
  const flipped = scope.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
  if (info.inChannels === 1) {
    // One output channel wastes most of XNNPACK's GEMM tile (21 ms for cnn-small's first layer
    // at batch 128); a depthwise convolution per dy channel and a sum over them takes 9 ms.
    const perChannel = scope.run(
      tf.DepthwiseConv2dNative,
      { x: reaching, filter: scope.reshape(flipped, [filterHeight, filterWidth, outChannels, 1]) },
      { strides: [1, 1], pad: padding, dilations: [1, 1], dataFormat: 'NHWC' },
    );
    return scope.run(tf.Sum, { x: perChannel }, { axis: [3], keepDims: true });
  }
  const swapped = scope.transpose(flipped, [0, 1, 3, 2]);
  return scope.run(tf.Conv2D, { x: reaching, filter: swapped }, { strides: [1, 1], pad: padding, dilations: [1, 1], dataFormat: 'NHWC' });
};
