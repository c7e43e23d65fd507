import * as tf from '@tensorflow/tfjs';
import { requireInput, type ComposedKernel, type WasmKernelScope } from './wasm-kernel-scope';

/**
 * Relative costs per element on wasm (measured at 1–2 ns per transposed element, ~20 ns per
 * element XNNPACK packs as the right operand of a product it has not seen).
 */
const TRANSPOSE_COST = 1;
const PACK_COST = 12;

/**
 * wasm's BatchMatMul takes XNNPACK's path only without transposes; with transposeA or
 * transposeB (every dense layer's backward pass) it runs a plain loop: a 784×128 · 128×256
 * product took 50 ms, against 3 ms with an explicit Transpose. XNNPACK also repacks the right
 * operand of every product it has not seen, so a transposed product is run either as
 * op(a)·op(b) or as (op(b)ᵀ·op(a)ᵀ)ᵀ, whichever packs and transposes fewer elements: for
 * dx = dy·Wᵀ of a 3136×1024 layer, W·dyᵀ packs 131k elements instead of 3.2M (37 ms, not 78).
 * Untransposed products go straight to wasm's kernel, which caches a weight matrix's packing.
 */
export const batchMatMulKernel: ComposedKernel = (scope, inputs, attrs) => {
  const a = requireInput(inputs, 'a');
  const b = requireInput(inputs, 'b');
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  const plain = { transposeA: false, transposeB: false };
  if (!transposeA && !transposeB) {
    return scope.run(tf.BatchMatMul, { a, b }, plain);
  }
  const [rowsA, colsA] = a.shape.slice(-2);
  const [rowsB, colsB] = b.shape.slice(-2);
  const [m, k] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
  const n = transposeB ? rowsB : colsB;
  const direct = PACK_COST * k * n + TRANSPOSE_COST * ((transposeA ? m * k : 0) + (transposeB ? k * n : 0));
  const swapped = PACK_COST * k * m + TRANSPOSE_COST * ((transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + m * n);
  if (direct <= swapped) {
    return scope.run(tf.BatchMatMul, { a: transposeA ? swapLast(scope, a) : a, b: transposeB ? swapLast(scope, b) : b }, plain);
  }
  // op(b)ᵀ is b itself when transposeB, and op(a)ᵀ is a itself when transposeA.
  const product = scope.run(tf.BatchMatMul, { a: transposeB ? b : swapLast(scope, b), b: transposeA ? a : swapLast(scope, a) }, plain);
  return swapLast(scope, product);
};

function swapLast(scope: WasmKernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const rank = x.shape.length;
  return scope.transpose(x, [...Array.from({ length: rank - 2 }, (_, axis) => axis), rank - 1, rank - 2]);
}
