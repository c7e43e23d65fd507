import * as tf from '@tensorflow/tfjs';
import { requireInput, type ComposedKernel } from './wasm-kernel-scope';

/**
 * A float32 sum over leading axes (a bias gradient: dy summed over batch, rows and columns) as
 * one average pool over a [1, P, 1, R] view, times P. wasm's Sum transposes the reduced axes
 * innermost first (15–25 ms for a [128, 26, 26, 32] gradient); a ones-vector MatMul is no
 * better, since XNNPACK repacks its fresh right operand on every call; the pool takes ~1.5 ms.
 * Any other reduction goes to wasm's own Sum.
 */
export const sumKernel: ComposedKernel = (scope, inputs, attrs) => {
  const x = requireInput(inputs, 'x');
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  const reduced = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  if (!leading || x.dtype !== 'float32' || reduced < 2) {
    return scope.run(tf.Sum, inputs, attrs);
  }
  const kept = x.shape.slice(axes.length);
  const mean = scope.run(
    tf.AvgPool,
    { x: scope.reshape(x, [1, reduced, 1, tf.util.sizeFromShape(kept)]) },
    { filterSize: [reduced, 1], strides: [1, 1], pad: 'valid' },
  );
  const sum = scope.run(tf.Multiply, { a: mean, b: scope.constant([reduced], []) });
  return scope.reshape(sum, keepDims ? [...axes.map(() => 1), ...kept] : kept);
};
