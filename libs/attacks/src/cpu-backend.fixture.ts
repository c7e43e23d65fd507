import * as tf from '@tensorflow/tfjs';

/** The cpu backend, without the "install tfjs-node" banner its first tensor prints. */
export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  tf.zeros([1]).dispose();
  warn.mockRestore();
}
