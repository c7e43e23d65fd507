import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { batchMatMulKernel } from './batch-mat-mul.kernel';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter.kernel';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input.kernel';
import { maxPoolGradKernel } from './max-pool-grad.kernel';
import { sumKernel } from './sum.kernel';
import { captureBaseKernels, composedKernelFunc, type BaseKernels } from './wasm-kernel-scope';
import { castKernelFunc, identityKernelFunc } from './zero-copy.kernel';

interface KernelOverride {
  name: string;
  /** Why it is registered; `bench:train --profile` prints it next to the profile. */
  reason: string;
  create: (base: BaseKernels) => tf.KernelFunc;
}

/** Kernels this project registers for `wasm`: missing there, wrong, or much slower than need be. */
export const WASM_TRAINING_KERNELS: readonly KernelOverride[] = [
  {
    name: tf.Conv2DBackpropFilter,
    reason: 'missing: a Conv2D of x with dy, dilated by the stride',
    create: (base) => composedKernelFunc(base, conv2DBackpropFilterKernel),
  },
  {
    name: tf.Conv2DBackpropInput,
    reason: '~10x slower than Conv2D: a Conv2D of the dilated dy with the flipped filter',
    create: (base) => composedKernelFunc(base, conv2DBackpropInputKernel),
  },
  {
    name: tf.MaxPoolGrad,
    reason: 'slow, and wrong where a window’s maximum is negative (the gradient goes to its first pixel)',
    create: (base) => composedKernelFunc(base, maxPoolGradKernel),
  },
  {
    name: tf.BatchMatMul,
    reason: 'transposed operands take a plain loop: an explicit Transpose is ~15x faster',
    create: (base) => composedKernelFunc(base, batchMatMulKernel),
  },
  {
    name: tf.Sum,
    reason: 'sums over leading axes (bias gradients) transpose first: an AvgPool over a [1, P, 1, R] view instead',
    create: (base) => composedKernelFunc(base, sumKernel),
  },
  {
    name: tf.Identity,
    reason: 'copies; the engine clones every tensor it saves for the backward pass',
    create: (base) => identityKernelFunc(base.get(tf.Identity)),
  },
  {
    name: tf.Cast,
    reason: 'copies even to the same dtype (relu gradients cast float32 to float32)',
    create: (base) => castKernelFunc(base.get(tf.Cast)),
  },
];

let registered = false;

/**
 * Makes `wasm` a complete and fast training backend: registers the filter-gradient kernel it
 * lacks and replaces slow or wrong ones, all built from wasm kernels that run in XNNPACK.
 * Idempotent; selectBackend calls it whenever it activates wasm.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) {
    return;
  }
  // Captured before any override, so a replacement reaches the original, never itself.
  const base = captureBaseKernels();
  for (const { name, create } of WASM_TRAINING_KERNELS) {
    // Typed as always found, but undefined for a kernel wasm does not have.
    const existing = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
    if (existing !== undefined) {
      tf.unregisterKernel(name, 'wasm');
    }
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: create(base),
      // An override may still call the original, whose wasm function this setup binds.
      setupFunc: existing?.setupFunc,
    });
  }
  registered = true;
}
