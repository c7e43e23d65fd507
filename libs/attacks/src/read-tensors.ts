import * as tf from '@tensorflow/tfjs';

export type TensorValues = Float32Array | Int32Array | Uint8Array;

/**
 * Reads a small tensor into a plain array and disposes it. Asynchronously: webgpu in Node can
 * only read that way, and the values are the same on every backend.
 */
export async function readAndDispose(tensor: tf.Tensor): Promise<TensorValues> {
  try {
    return await tensor.data<'float32' | 'int32' | 'bool'>();
  } finally {
    tensor.dispose();
  }
}

/** readAndDispose for several tensors at once: their reads wait on the device together. */
export async function readAllAndDispose(tensors: tf.Tensor[]): Promise<TensorValues[]> {
  try {
    return await Promise.all(tensors.map((t) => t.data<'float32' | 'int32' | 'bool'>()));
  } finally {
    tf.dispose(tensors);
  }
}
