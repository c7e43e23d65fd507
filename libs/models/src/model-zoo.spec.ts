import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, type ModelName } from '@bulwark/spec';
import { asLogitsModel, createModel, type ModelSpec } from './model-zoo';
import { selectBackend } from '@bulwark/tfjs-runtime';

const MNIST: [number, number, number] = [28, 28, 1];
const CIFAR: [number, number, number] = [32, 32, 3];

const specFor = (name: ModelName, seed = 5): ModelSpec => ({
  name,
  inputShape: name === 'resnet-small' ? CIFAR : MNIST,
  numClasses: 10,
  seed,
});

/** Byte equality: jest's deep equality takes seconds on millions of floats. */
function sameWeights(a: tf.LayersModel, b: tf.LayersModel): boolean {
  const wa = a.getWeights();
  const wb = b.getWeights();
  return (
    wa.length === wb.length &&
    wa.every((w, i) => {
      const x = w.dataSync() as Float32Array;
      const y = wb[i].dataSync() as Float32Array;
      return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    })
  );
}

const trainableCount = (model: tf.LayersModel) => model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((p: number, d) => p * (d as number), 1), 0);

/** Weights + bias of a conv layer, PyTorch-style count. */
const convParams = (inChannels: number, outChannels: number, kernel: number, bias = true) =>
  inChannels * outChannels * kernel * kernel + (bias ? outChannels : 0);
const denseParams = (inUnits: number, outUnits: number) => inUnits * outUnits + outUnits;

describe('createModel', () => {
  // Built once: seeded initialisation of the larger nets dominates this file's run time.
  const models = new Map<ModelName, tf.LayersModel>();

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    for (const name of MODEL_NAMES) {
      models.set(name, createModel(specFor(name)));
    }
  });

  afterAll(() => models.forEach((model) => model.dispose()));

  it.each(MODEL_NAMES)('%s: same seed gives identical initial weights, another seed different ones', (name) => {
    const a = models.get(name)!;
    const b = createModel(specFor(name));
    const c = createModel(specFor(name, 6));

    expect(sameWeights(a, b)).toBe(true);
    expect(sameWeights(a, c)).toBe(false);
    expect(a.getWeights()[0].dataSync().slice(0, 8)).not.toEqual(c.getWeights()[0].dataSync().slice(0, 8));
    // Layers of one model must not share an initialiser seed.
    const kernels = a.getWeights().filter((w) => w.rank > 1);
    expect(kernels[0].dataSync().slice(0, 8)).not.toEqual(kernels[1].dataSync().slice(0, 8));
    [b, c].forEach((m) => m.dispose());
  });

  it.each(MODEL_NAMES)('%s: maps a batch to raw logits', (name) => {
    const model = models.get(name)!;
    const [h, w, ch] = specFor(name).inputShape;
    const x = tf.randomUniform([3, h, w, ch], 0, 1, 'float32', 3);
    const logits = asLogitsModel(model)(x);
    expect(logits.shape).toEqual([3, 10]);
    const values = logits.dataSync();
    expect(values.every(Number.isFinite)).toBe(true);
    // Raw logits: rows are not probability distributions (negative entries, sums ≠ 1).
    const rowSums = tf.tidy(() => tf.sum(logits, 1).dataSync());
    expect(Array.from(rowSums).some((s) => Math.abs(s - 1) > 1e-3) || values.some((v) => v < 0)).toBe(true);
    tf.dispose([x, logits]);
  });

  it('keeps fixed layer names, so checkpoints read the same in every process', () => {
    expect(models.get('cnn-madry')!.weights.map((w) => w.originalName)).toEqual([
      'conv1/kernel',
      'conv1/bias',
      'conv2/kernel',
      'conv2/bias',
      'dense1/kernel',
      'dense1/bias',
      'logits/kernel',
      'logits/bias',
    ]);
    const resnetNames = models.get('resnet-small')!.weights.map((w) => w.originalName);
    // Trainable weights first, then the batch norms' moving statistics.
    expect(resnetNames.slice(0, 3)).toEqual(['stem_conv/kernel', 'stem_bn/gamma', 'stem_bn/beta']);
    expect(resnetNames).toContain('stage3_block3_b_conv/kernel');
    expect(resnetNames).toContain('logits/bias');
    expect(resnetNames.slice(-2)).toEqual(['stage3_block3_b_bn/moving_mean', 'stage3_block3_b_bn/moving_variance']);
  });

  it('builds the published architectures (parameter counts worked out from the papers)', () => {
    // mlp: 784·256+256 + 256·256+256 + 256·10+10. cnn-small: PyTorch reference CNN.
    expect(models.get('mlp')!.countParams()).toBe(denseParams(784, 256) + denseParams(256, 256) + denseParams(256, 10));
    expect(models.get('mlp')!.countParams()).toBe(269_322);
    expect(models.get('cnn-small')!.countParams()).toBe(convParams(1, 32, 3) + convParams(32, 64, 3) + denseParams(5 * 5 * 64, 128) + denseParams(128, 10));
    expect(models.get('cnn-small')!.countParams()).toBe(225_034);

    // Wong & Kolter: 28 → 14 → 7 (4×4, stride 2, padding 1), 32·7·7 = 1568 into dense 100.
    const wong = convParams(1, 16, 4) + convParams(16, 32, 4) + denseParams(32 * 7 * 7, 100) + denseParams(100, 10);
    expect(wong).toBe(166_406);
    expect(models.get('cnn-wong')!.countParams()).toBe(wong);

    // Madry et al.: 5×5 'same' convs, two 2×2 pools: 28 → 14 → 7, 64·7·7 = 3136 into dense 1024.
    const madry = convParams(1, 32, 5) + convParams(32, 64, 5) + denseParams(64 * 7 * 7, 1024) + denseParams(1024, 10);
    expect(madry).toBe(3_274_634);
    expect(models.get('cnn-madry')!.countParams()).toBe(madry);

    // LeNet-5: 28 (+2 pad) → 28 → 14 → 10 → 5; 16·5·5 = 400 into 120, 84, 10.
    const lenet = convParams(1, 6, 5) + convParams(6, 16, 5) + denseParams(400, 120) + denseParams(120, 84) + denseParams(84, 10);
    expect(lenet).toBe(61_706);
    expect(models.get('lenet5')!.countParams()).toBe(lenet);

    // ResNet-20 (He et al. 2016, §4.2, "0.27M"): 3×3 convs without bias, each followed by a
    // batch norm (γ, β trainable; moving mean and variance not); option-A shortcuts are free.
    const conv3 = (cin: number, cout: number) => convParams(cin, cout, 3, false);
    const convs = conv3(3, 16) + 6 * conv3(16, 16) + (conv3(16, 32) + 5 * conv3(32, 32)) + (conv3(32, 64) + 5 * conv3(64, 64));
    const bnChannels = 16 + 6 * 16 + 6 * 32 + 6 * 64;
    const resnetTrainable = convs + 2 * bnChannels + denseParams(64, 10);
    expect(resnetTrainable).toBe(269_722);
    const resnet = models.get('resnet-small')!;
    expect(trainableCount(resnet)).toBe(resnetTrainable);
    expect(resnet.countParams()).toBe(resnetTrainable + 2 * bnChannels);
    // Option A: no weights outside convolutions, batch norms and the classifier.
    expect(resnet.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(19);
  });

  it("resnet-small's shortcuts are the paper's option A: x[:, ::2, ::2, :] with zero channels on both sides", () => {
    const resnet = models.get('resnet-small')!;
    const probe = tf.model({
      inputs: resnet.inputs,
      outputs: [resnet.getLayer('stage1_block3_relu').output, resnet.getLayer('stage2_block1_shortcut_swap_out').output] as tf.SymbolicTensor[],
    });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 8);
    const [blockOut, shortcut] = probe.predict(x) as tf.Tensor[];
    const expected = tf.tidy(() =>
      tf.pad(tf.stridedSlice(blockOut, [0, 0, 0, 0], [2, 32, 32, 16], [1, 2, 2, 1]), [
        [0, 0],
        [0, 0],
        [0, 0],
        [8, 8],
      ]),
    );
    expect(shortcut.shape).toEqual([2, 16, 16, 32]);
    expect(Array.from(shortcut.dataSync())).toEqual(Array.from(expected.dataSync()));
    expect(tf.tidy(() => tf.max(tf.abs(blockOut)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, blockOut, shortcut, expected]);
  });

  it('accepts other input shapes where the network allows them, and sizes its classifier to them', () => {
    const resnetOnDigits = createModel({ name: 'resnet-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    // Only the stem's fan-in changes: 3·3·1·16 instead of 3·3·3·16.
    expect(trainableCount(resnetOnDigits)).toBe(269_722 - 9 * 2 * 16);
    const lenetOnCifar = createModel({ name: 'lenet5', inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
    // 32 → 32 → 16 → 12 → 6: 16·6·6 = 576 into dense1.
    expect(lenetOnCifar.countParams()).toBe(convParams(3, 6, 5) + convParams(6, 16, 5) + denseParams(576, 120) + denseParams(120, 84) + denseParams(84, 10));
    const x = tf.zeros([2, 28, 28, 1]);
    const logits = asLogitsModel(resnetOnDigits)(x);
    expect(logits.shape).toEqual([2, 10]);
    tf.dispose([x, logits]);
    [resnetOnDigits, lenetOnCifar].forEach((m) => m.dispose());
  });

  it('rejects input shapes a network cannot take, naming the model and the shape', () => {
    expect(() => createModel({ name: 'lenet5', inputShape: [8, 8, 1], numClasses: 10, seed: 1 })).toThrow(
      'model lenet5 needs inputs of at least 12×12×C, got [8, 8, 1]',
    );
    expect(() => createModel({ name: 'resnet-small', inputShape: [32, 4, 3], numClasses: 10, seed: 1 })).toThrow(/resnet-small.*at least 8×8/);
    expect(() => createModel({ name: 'cnn-wong', inputShape: [784] as unknown as [number, number, number], numClasses: 10, seed: 1 })).toThrow(
      /cnn-wong needs an input shape \[H, W, C\]/,
    );
  });

  it('rejects an unknown model name and a bad class count', () => {
    expect(() => createModel({ name: 'resnet' as 'mlp', inputShape: MNIST, numClasses: 10, seed: 1 })).toThrow(/unknown model/);
    expect(() => createModel({ name: 'mlp', inputShape: MNIST, numClasses: 1, seed: 1 })).toThrow(/numClasses/);
  });
});
