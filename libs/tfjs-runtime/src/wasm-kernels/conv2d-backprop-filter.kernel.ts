import * as tf from '@tensorflow/tfjs';
import { assertChannelsLast, requireInput, type ComposedKernel } from './wasm-kernel-scope';

/**
 * ∂L/∂filter of an NHWC convolution, run as one wasm (XNNPACK) convolution (or, for few input
 * channels, one MatMul):
 *
 *   dW[a,b,c,o] = Σ_{n,i,j} x[n, i·sh + a − top, j·sw + b − left, c] · dy[n,i,j,o]
 *
 * is a stride-1 convolution of x (batch ↔ channels swapped: [C_in, H, W, N]) with dy as the
 * filter ([H_out, W_out, N, C_out]), dilated by the forward stride, whose output is
 * [C_in, fh, fw, C_out]. Padding is the forward top/left; the bottom/right padding is whatever
 * makes the output exactly fh × fw (where that is negative, the forward conv never read the
 * last rows of x: the conv then runs a little larger and the filter-sized corner is kept).
 */
export const conv2DBackpropFilterKernel: ComposedKernel = (scope, inputs, attrs) => {
  const x = requireInput(inputs, 'x');
  const dy = requireInput(inputs, 'dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertChannelsLast(tf.Conv2DBackpropFilter, dataFormat);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  assertShape(tf.Conv2DBackpropFilter, 'dy', dy.shape, info.outShape);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, padInfo } = info;
  const patchSize = inChannels * filterHeight * filterWidth;
  if (patchSize < outChannels) {
    // Few input channels (an image's first layer): dWᵀ = dyᵀ · patches(x) as a MatMul. XNNPACK
    // repacks the right operand of every fresh product, and patches(x) [N·Ho·Wo, C_in·fh·fw] is
    // then the smaller one: 16 ms instead of 29 ms for cnn-small's first layer at batch 128.
    const rows = batchSize * outHeight * outWidth;
    const patches = scope.windows(x, [filterHeight, filterWidth], { strides, pad, dimRoundingMode });
    const dyT = scope.transpose(scope.reshape(dy, [rows, outChannels]), [1, 0]);
    const product = scope.run(tf.BatchMatMul, { a: dyT, b: scope.reshape(patches, [rows, patchSize]) }, { transposeA: false, transposeB: false });
    return scope.transpose(scope.reshape(product, [outChannels, inChannels, filterHeight, filterWidth]), [2, 3, 1, 0]);
  }
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - padInfo.top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - padInfo.left;

  const xT = scope.transpose(x, [3, 1, 2, 0]);
  const dyT = scope.transpose(dy, [1, 2, 0, 3]);
  const gradient = scope.run(
    tf.Conv2D,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [padInfo.top, Math.max(bottom, 0)],
        [padInfo.left, Math.max(right, 0)],
        [0, 0],
      ],
      dilations: [strideHeight, strideWidth],
      dataFormat: 'NHWC',
    },
  );
  const filterSized = scope.crop(gradient, [0, 0, 0, 0], [inChannels, filterHeight, filterWidth, outChannels]);
  return scope.transpose(filterSized, [1, 2, 0, 3]);
};

export function assertShape(kernel: string, name: string, actual: readonly number[], expected: readonly number[]): void {
  if (!tf.util.arraysEqual(actual as number[], expected as number[])) {
    throw new Error(`${kernel}: ${name} has shape [${actual}], the convolution's attributes imply [${expected}]`);
  }
}
