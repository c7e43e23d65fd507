import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { requireInput, wasmBackend } from './wasm-kernel-scope';

/**
 * Tensors are immutable, so an identity can share its input's buffer (as the cpu backend does)
 * instead of copying it as wasm's Identity and same-dtype Cast do. The engine clones every
 * tensor it saves for the backward pass, and relu's gradient casts float32 to float32: in a
 * cnn-small FGSM step those copies were 80 kernel calls and ~20 ms.
 */
export function shareBuffer(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identityKernelFunc(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const x = requireInput(args.inputs, 'x');
    // Strings live outside the wasm heap; wasm's own kernel handles them.
    return x.dtype === 'string' ? original.kernelFunc(args) : shareBuffer(wasmBackend(args.backend), x);
  };
}

export function castKernelFunc(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const x = requireInput(args.inputs, 'x');
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    return x.dtype === dtype && x.dtype !== 'string' ? shareBuffer(wasmBackend(args.backend), x) : original.kernelFunc(args);
  };
}
