import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createSeededRandom as createRng, type SeededRandom as Rng } from '@bulwark/attacks';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './register-wasm-training-kernels';

type Pad = 'same' | 'valid';
type Shape4 = [number, number, number, number];

interface Values {
  shape: number[];
  data: Float32Array;
}

/** max |actual − expected| / max |expected|: the 1e-4 criterion of the issue. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i += 1) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

function random(rng: Rng, shape: number[], low = -1, high = 1): Values {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i += 1) data[i] = low + (high - low) * rng.next();
  return { shape, data };
}

/** Runs `f` on `backend` with fresh tensors made from `inputs`; returns its outputs' values. */
async function on(backend: 'cpu' | 'wasm', inputs: Values[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => f(...inputs.map(({ shape, data }) => tf.tensor(data, shape))).map((t) => t.dataSync() as Float32Array));
}

/** The same gradients on cpu (tfjs's reference kernels) and wasm (the kernels under test). */
async function compare(inputs: Values[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<number[]> {
  const expected = await on('cpu', inputs, f);
  const actual = await on('wasm', inputs, f);
  return actual.map((values, i) => relativeError(values, expected[i]));
}

/** Every wasm data buffer a kernel made is freed again once its result is disposed. */
function wasmDataIds(): number {
  return tf.findBackend('wasm').numDataIds();
}

const rng = createRng(2024);
const pick = <T>(values: readonly T[]): T => values[rng.int(values.length)];
const between = (low: number, high: number) => low + rng.int(high - low + 1);

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: [number, number];
  pad: Pad;
}

// Strides 1 and 2 with both paddings, odd and even sizes, 1 to 8 channels, batch 1 to 3.
const convCases: ConvCase[] = [];
for (const strides of [
  [1, 1],
  [2, 2],
  [2, 1],
] as Array<[number, number]>) {
  for (const pad of ['same', 'valid'] as const) {
    for (let i = 0; i < 3; i += 1) {
      const [fh, fw] = [between(1, 4), between(1, 4)];
      convCases.push({
        x: [between(1, 3), between(Math.max(fh, 3), 11), between(Math.max(fw, 3), 11), pick([1, 2, 3, 8])],
        filter: [fh, fw, 0, pick([1, 3, 4, 8])],
        strides,
        pad,
      });
    }
  }
}
for (const c of convCases) c.filter[2] = c.x[3];
// The two convolutions of cnn-small, at a small batch.
convCases.push({ x: [2, 28, 28, 1], filter: [3, 3, 1, 32], strides: [1, 1], pad: 'valid' });
convCases.push({ x: [2, 13, 13, 32], filter: [3, 3, 32, 64], strides: [1, 1], pad: 'valid' });

describe('wasm training kernels', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels();
  });

  it('registers every kernel for wasm, once, even when called again', () => {
    registerWasmTrainingKernels();
    const names = WASM_TRAINING_KERNELS.map(({ name }) => name);
    expect(names).toEqual(expect.arrayContaining([tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.BatchMatMul]));
    for (const name of names) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });

  it.each(convCases.map((c) => [`x [${c.x}] filter [${c.filter}] strides ${c.strides} ${c.pad}`, c] as const))(
    'Conv2DBackpropInput and Conv2DBackpropFilter match cpu: %s',
    async (_name, { x, filter, strides, pad }) => {
      // A random upstream gradient: the loss is Σ w ⊙ conv(x, filter).
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros<tf.Rank.R4>(x), tf.zeros<tf.Rank.R4>(filter), strides, pad).shape);
      const inputs = [random(rng, x, 0, 1), random(rng, filter), random(rng, outShape)];

      const errors = await compare(inputs, (xs, f, w) => {
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), w));
        return tf.grads(loss)([xs, f]);
      });

      expect(errors[0]).toBeLessThan(1e-4);
      expect(errors[1]).toBeLessThan(1e-4);
    },
  );

  const poolCases: Array<{ x: Shape4; size: [number, number]; strides: [number, number]; pad: Pad }> = [
    { x: [2, 26, 26, 32], size: [2, 2], strides: [2, 2], pad: 'valid' },
    { x: [3, 11, 11, 4], size: [2, 2], strides: [2, 2], pad: 'valid' },
    { x: [2, 11, 9, 3], size: [2, 2], strides: [2, 2], pad: 'same' },
    { x: [2, 10, 7, 2], size: [3, 3], strides: [3, 3], pad: 'same' },
    { x: [1, 9, 8, 5], size: [3, 2], strides: [3, 2], pad: 'valid' },
    // Overlapping and gapped windows.
    { x: [2, 9, 9, 3], size: [3, 3], strides: [2, 2], pad: 'same' },
    { x: [2, 7, 8, 2], size: [2, 2], strides: [1, 1], pad: 'valid' },
    { x: [2, 12, 11, 4], size: [3, 3], strides: [2, 2], pad: 'valid' },
    { x: [1, 8, 9, 2], size: [2, 2], strides: [3, 3], pad: 'valid' },
  ];

  it.each(poolCases.map((c) => [`x [${c.x}] window ${c.size} strides ${c.strides} ${c.pad}`, c] as const))(
    'MaxPoolGrad matches cpu: %s',
    async (_name, { x, size, strides, pad }) => {
      const outShape = tf.tidy(() => tf.maxPool(tf.zeros<tf.Rank.R4>(x), size, strides, pad).shape);
      const inputs = [random(rng, x), random(rng, outShape)];

      const [error] = await compare(inputs, (xs, w) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, strides, pad), w)))(xs)]);

      expect(error).toBeLessThan(1e-4);
    },
  );

  it.each([
    [2, 2],
    [3, 2],
  ])('MaxPoolGrad (window %p, stride %p) sends a tied window its gradient once, at its first maximum, as cpu does', async (size, stride) => {
    // ReLU-like outputs: whole windows of zeros, windows with a repeated maximum, negative maxima.
    const x = random(rng, [2, 7, 7, 3]);
    x.data.forEach((v, i) => (x.data[i] = i % 5 === 0 ? 0.5 : i % 7 === 0 ? -1 : Math.max(0, Math.round(v * 2) / 2)));
    const outShape = tf.tidy(() => tf.maxPool(tf.zeros<tf.Rank.R4>([2, 7, 7, 3]), size, stride, 'valid').shape);
    // Integer upstream gradients: sums over overlapping windows are exact in any order.
    const dy = random(rng, outShape, -4, 4);
    dy.data.forEach((v, i) => (dy.data[i] = Math.round(v)));
    const inputs = [x, dy];

    const f = (xs: tf.Tensor, w: tf.Tensor) => [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, 'valid'), w)))(xs)];
    const expected = await on('cpu', inputs, f);
    const actual = await on('wasm', inputs, f);

    // + 0 turns −0 (0 · a negative dy) into 0.
    expect(Array.from(actual[0], (v) => v + 0)).toEqual(Array.from(expected[0], (v) => v + 0));
  });

  it.each([
    [false, false, [5, 7], [7, 3]],
    [true, false, [7, 5], [7, 3]],
    [false, true, [5, 7], [3, 7]],
    [true, true, [7, 5], [3, 7]],
    [true, false, [2, 7, 5], [1, 7, 3]],
    // Wide outputs: computed as (op(b)ᵀ·op(a)ᵀ)ᵀ, which packs fewer elements.
    [false, true, [2, 8], [64, 8]],
    [true, false, [8, 2], [8, 64]],
    [true, false, [2, 8, 3], [1, 8, 40]],
    [true, true, [8, 2], [64, 8]],
  ] as const)('BatchMatMul transposeA=%p transposeB=%p matches cpu for [%p]·[%p]', async (transposeA, transposeB, aShape, bShape) => {
    const inputs = [random(rng, [...aShape]), random(rng, [...bShape])];

    const [error] = await compare(inputs, (a, b) => [tf.matMul(a, b, transposeA, transposeB)]);

    expect(error).toBeLessThan(1e-5);
  });

  it('frees every intermediate: no tensor and no wasm buffer outlives a training step', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomUniform<tf.Rank.R4>([2, 9, 9, 3], 0, 1, 'float32', 1);
    const filter = tf.randomNormal<tf.Rank.R4>([3, 3, 3, 4], 0, 1, 'float32', 2);
    const weights = tf.randomNormal<tf.Rank.R2>([36, 5], 0, 1, 'float32', 3);
    const loss = (a: tf.Tensor, f: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.matMul(tf.reshape(tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')), 2, 2, 'same'), [2, -1]), w as tf.Tensor2D));
    tf.dispose(tf.grads(loss)([x, filter, weights]));
    const [tensors, buffers] = [tf.memory().numTensors, wasmDataIds()];

    tf.dispose(tf.grads(loss)([x, filter, weights]));

    expect([tf.memory().numTensors, wasmDataIds()]).toEqual([tensors, buffers]);
    tf.dispose([x, filter, weights]);
  });

  it('rejects NCHW with an error that names the kernel and the layout', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 2]);
    const dy = tf.zeros([1, 2, 2, 3]);

    expect(() =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] }),
    ).toThrow("Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only, got 'NCHW'");
    tf.dispose([x, dy]);
  });
});
