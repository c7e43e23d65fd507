import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './select-backend';

function isInstalled(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

const nativeInstalled = isInstalled('@tensorflow/tfjs-node-gpu') || isInstalled('@tensorflow/tfjs-node');

describe('selectBackend', () => {
  it('activates a forced backend', async () => {
    await expect(selectBackend({ forced: 'cpu', log: () => undefined })).resolves.toEqual({
      name: 'cpu',
      tfjsVersion: tf.version.tfjs,
      threads: 1,
      gpu: false,
    });
    expect(tf.getBackend()).toBe('cpu');
    await expect(selectBackend({ forced: 'wasm' })).resolves.toMatchObject({ name: 'wasm', threads: 1 });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('makes wasm a training backend: the filter gradient it lacks is registered when wasm is chosen', async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });

    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    const x = tf.ones<tf.Rank.R4>([1, 4, 4, 1]);
    const filterGradient = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'valid')))(tf.ones([3, 3, 1, 1]));
    // Each filter tap sees the 2×2 output positions of an all-ones input.
    expect(Array.from(filterGradient.dataSync())).toEqual(new Array(9).fill(4));
    tf.dispose([x, filterGradient]);
  });

  it('rejects a forced name that is not a backend, naming BULWARK_BACKEND', async () => {
    await expect(selectBackend({ forced: 'tpu' as 'cpu' })).rejects.toThrow(/BULWARK_BACKEND='tpu'/);
  });

  // The native packages are optional dependencies; where they are installed these cases do not apply.
  (nativeInstalled ? describe.skip : describe)('without the native packages', () => {
    it('falls through to wasm with one log line per missing package', async () => {
      await tf.setBackend('cpu');
      const lines: string[] = [];

      const info = await selectBackend({ log: (line) => lines.push(line) });

      expect(info).toEqual({ name: 'wasm', tfjsVersion: tf.version.tfjs, threads: 1, gpu: false });
      expect(tf.getBackend()).toBe('wasm');
      expect(lines).toEqual([
        'tfjs backend node-gpu skipped: @tensorflow/tfjs-node-gpu is not installed',
        'tfjs backend node skipped: @tensorflow/tfjs-node is not installed',
        // Tried and passed over: jest cannot load the `webgpu` ES module (a plain node process without a
        // GPU finds only llvmpipe, never chosen unforced: webgpu-runs.training.spec.ts checks that).
        expect.stringMatching(/^tfjs backend webgpu skipped: /),
      ]);
    });

    it('fails loudly, naming BULWARK_BACKEND, when a forced native backend cannot load', async () => {
      await expect(selectBackend({ forced: 'node' })).rejects.toThrow(
        'BULWARK_BACKEND=node but that TensorFlow.js backend could not be loaded: @tensorflow/tfjs-node is not installed',
      );
    });
  });
});
