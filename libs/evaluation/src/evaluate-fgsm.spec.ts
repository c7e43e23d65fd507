import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import type { Dataset } from '@bulwark/data';
import { evaluateFgsm } from './evaluate-fgsm';
import { selectBackend } from '@bulwark/tfjs-runtime';

describe('evaluateFgsm', () => {
  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  it('counts an example as robust only if it is correct both clean and under FGSM', async () => {
    // logits = [x0, x1]: FGSM at ε removes 2ε from the true class's margin |x0 - x1|.
    const model: LogitsModel = (x) => tf.tidy(() => tf.reshape<tf.Rank.R2>(x, [x.shape[0], 2]));
    const dataset: Dataset = {
      name: 'margins',
      images: Uint8Array.from([153, 102, 230, 25, 102, 153, 51, 204]),
      // margins 0.2 (flips at ε = 0.15), 0.8 (holds), wrong when clean, 0.6 (holds)
      labels: Uint8Array.from([0, 0, 0, 1]),
      shape: [1, 2, 1],
      classNames: ['a', 'b'],
      size: 4,
    };
    const before = tf.memory().numTensors;

    const result = await evaluateFgsm({ model, dataset, epsilon: 0.15, batchSize: 3 });

    expect(result).toEqual({ cleanAccuracy: 0.75, adversarialAccuracy: 0.5, examples: 4 });
    expect(await evaluateFgsm({ model, dataset, epsilon: 0 })).toEqual({ cleanAccuracy: 0.75, adversarialAccuracy: 0.75, examples: 4 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
