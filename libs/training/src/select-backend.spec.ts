import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './select-backend';

// The native packages are optional dependencies that are not installed on this machine.
describe('selectBackend', () => {
  it('falls through the missing native packages to wasm, one log line each', async () => {
    const lines: string[] = [];

    const info = await selectBackend({ log: (line) => lines.push(line) });

    expect(info).toEqual({ name: 'wasm', tfjsVersion: tf.version.tfjs, threads: 1 });
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toEqual([
      'tfjs backend node-gpu skipped: @tensorflow/tfjs-node-gpu is not installed',
      'tfjs backend node skipped: @tensorflow/tfjs-node is not installed',
    ]);
  });

  it('activates a forced backend', async () => {
    await expect(selectBackend({ forced: 'cpu', log: () => undefined })).resolves.toMatchObject({ name: 'cpu', threads: 1 });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('fails loudly, naming BULWARK_BACKEND, when a forced backend cannot load', async () => {
    await expect(selectBackend({ forced: 'node' })).rejects.toThrow(
      'BULWARK_BACKEND=node but that TensorFlow.js backend could not be loaded: @tensorflow/tfjs-node is not installed',
    );
    await expect(selectBackend({ forced: 'tpu' as 'cpu' })).rejects.toThrow(/BULWARK_BACKEND='tpu'/);
  });
});
