import * as tf from '@tensorflow/tfjs';
import { asLogitsModel, createModel, MODEL_NAMES } from './model-zoo';
import { selectBackend } from '../backend/select-backend';

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('createModel', () => {
  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  it.each(MODEL_NAMES)('%s: same seed gives identical initial weights, another seed different ones', (name) => {
    const spec = { name, inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, seed: 5 };
    const a = createModel(spec);
    const b = createModel(spec);
    const c = createModel({ ...spec, seed: 6 });

    expect(weightValues(b)).toEqual(weightValues(a));
    expect(weightValues(c)[0]).not.toEqual(weightValues(a)[0]);
    // Layers of one model must not share an initialiser seed.
    const kernels = a.getWeights().filter((w) => w.rank > 1);
    expect(kernels[0].dataSync().slice(0, 8)).not.toEqual(kernels[1].dataSync().slice(0, 8));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('builds the reference architectures (PyTorch parameter counts) and returns logits', () => {
    const mlp = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const cnn = createModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    // 784·256+256 + 256·256+256 + 256·10+10, and 320 + 18,496 + 1,600·128+128 + 1,290.
    expect(mlp.countParams()).toBe(269_322);
    expect(cnn.countParams()).toBe(225_034);

    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 3);
    for (const model of [mlp, cnn]) {
      const logits = asLogitsModel(model)(x);
      expect(logits.shape).toEqual([3, 10]);
      // Raw logits: rows are not probability distributions.
      const rowSums = tf.tidy(() => tf.sum(logits, 1).dataSync());
      expect(Array.from(rowSums).some((s) => Math.abs(s - 1) > 1e-3)).toBe(true);
      logits.dispose();
      model.dispose();
    }
    x.dispose();
  });

  it('rejects an unknown model name', () => {
    expect(() => createModel({ name: 'resnet' as 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 1 })).toThrow(/unknown model/);
  });
});
