import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { reduceBitDepth } from './bit-depth';
import { createPreprocessing } from '../create-defense';
import { gaussianNoisePreprocessing } from './gaussian-noise';
import { jpegRecompress } from './jpeg';
import { medianFilter } from './median-filter';
import { drawResizePad, randomResizePadPreprocessing, resizeAndPad } from './random-resize-pad';

/** The SciPy median_filter a reader can check by hand: symmetric edges, window at offset ⌊k/2⌋, rank ⌊k²/2⌋. */
function referenceMedian(image: number[][], size: number): number[][] {
  const h = image.length;
  const w = image[0].length;
  const mirror = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const before = Math.floor(size / 2);
  return image.map((row, y) =>
    row.map((_, x) => {
      const window: number[] = [];
      for (let dy = 0; dy < size; dy += 1) for (let dx = 0; dx < size; dx += 1) window.push(image[mirror(y + dy - before, h)][mirror(x + dx - before, w)]);
      return window.sort((a, b) => a - b)[Math.floor(window.length / 2)];
    }),
  );
}

const asImage = (rows: number[][]) => tf.tensor4d(rows.flat(), [1, rows.length, rows[0].length, 1]);
const read = (t: tf.Tensor) => Array.from(t.dataSync());

describe('input preprocessing', () => {
  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  it('reduces bit depth to round(x·(2^b−1))/(2^b−1), half to even', () => {
    const x = tf.tensor1d([0, 0.2, 0.49, 0.5, 0.51, 1]);
    const one = reduceBitDepth(x, 1);
    const two = reduceBitDepth(x, 2);
    expect(read(one)).toEqual([0, 0, 0, 0, 1, 1]);
    // ×3: 0, 0.6, 1.47, 1.5, 1.53, 3 → 0, 1, 1, 2, 2, 3 (1.5 rounds to the even 2).
    read(two).forEach((v, i) => expect(v).toBeCloseTo([0, 1, 1, 2, 2, 3][i] / 3, 6));
    tf.dispose([x, one, two]);
  });

  it('median-filters with SciPy conventions: removes an impulse, keeps an edge, upper median for an even window', () => {
    const impulse = [
      [0, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const edge = [
      [0, 0, 1, 1],
      [0, 0, 1, 1],
      [0, 0, 1, 1],
    ];
    const ramp = [
      [0.1, 0.9, 0.3, 0.4],
      [0.5, 0.2, 0.8, 0.6],
      [0.7, 0.05, 0.35, 0.95],
    ];
    for (const [image, size] of [
      [impulse, 3],
      [edge, 3],
      [ramp, 3],
      [ramp, 2],
    ] as const) {
      const x = asImage(image);
      const y = medianFilter(x, size);
      expect(y.shape).toEqual(x.shape);
      const expected = referenceMedian(image, size).flat();
      read(y).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
      tf.dispose([x, y]);
    }
    const x = asImage(impulse);
    const y = medianFilter(x, 3);
    expect(read(y).every((v) => v === 0)).toBe(true);
    tf.dispose([x, y]);
  });

  it('median-filters every channel separately and passes the true (one-pixel) gradient', () => {
    const x = tf.tensor4d([0.1, 0.9, 0.5, 0.2, 0.3, 0.8, 0.7, 0.4], [1, 2, 2, 2]);
    const channels = tf.split(x, 2, 3).map((c) => medianFilter(c, 3));
    const together = medianFilter(x, 3);
    const separate = tf.concat(channels, 3);
    expect(read(together)).toEqual(read(separate));
    const gradient = tf.grad((t: tf.Tensor) => tf.sum(medianFilter(t, 3)))(x);
    // Each output pixel routes its gradient to exactly one input pixel: the total is the pixel count.
    expect(read(gradient).reduce((a, b) => a + b, 0)).toBeCloseTo(8, 5);
    tf.dispose([x, together, separate, gradient, ...channels]);
  });

  it('JPEG re-encoding changes an image slightly, more at lower quality, stays in [0,1] and has zero gradient', () => {
    // A smooth blob with a sharp edge, like a digit stroke.
    const side = 16;
    const pixels = Array.from({ length: side * side }, (_, i) => {
      const y = Math.floor(i / side);
      const x = i % side;
      return Math.max(0, Math.min(1, 1.4 - Math.hypot(y - 7.5, x - 7.5) / 4)) * (x < 12 ? 1 : 0.2);
    });
    const grey = tf.tensor4d(pixels, [1, side, side, 1]);
    const colour = tf.tidy(() => tf.concat([grey, tf.sub(1, grey), tf.mul(grey, 0.5)], 3));
    const meanChange = (x: tf.Tensor, quality: number) => {
      const y = jpegRecompress(x, quality);
      const values = read(y);
      expect(y.shape).toEqual(x.shape);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThanOrEqual(1);
      const change = tf.tidy(() => tf.mean(tf.abs(tf.sub(y, x))).dataSync()[0]);
      y.dispose();
      return change;
    };
    for (const x of [grey, colour]) {
      const high = meanChange(x, 90);
      const low = meanChange(x, 10);
      expect(high).toBeGreaterThan(0);
      expect(high).toBeLessThan(0.03);
      expect(low).toBeGreaterThan(high);
      expect(low).toBeLessThan(0.15);
    }
    // A batch is encoded as one strip of block-aligned tiles: each image must come back exactly as if encoded alone.
    const odd = tf.tidy(() => tf.concat([tf.image.resizeBilinear(grey, [13, 13]), tf.randomUniform([2, 13, 13, 1], 0, 1, 'float32', 3)], 0));
    const together = jpegRecompress(odd, 60);
    const alone = tf.concat(
      tf.split(odd, 3, 0).map((one) => jpegRecompress(one, 60)),
      0,
    );
    expect(read(together)).toEqual(read(alone));
    tf.dispose([odd, together, alone]);
    const gradient = tf.grad((t: tf.Tensor) => tf.sum(jpegRecompress(t, 75)))(grey);
    expect(read(gradient).every((v) => v === 0)).toBe(true);
    tf.dispose([grey, colour, gradient]);
  });

  it('Gaussian noise differs on every deployed call, is reproducible per draw seed and stays in [0,1]', () => {
    const step = gaussianNoisePreprocessing({ sigma: 0.2, seed: 5 });
    const x = tf.fill([2, 4, 4, 1], 0.5);
    const [a, b] = [step.apply(x), step.apply(x)];
    expect(read(a)).not.toEqual(read(b));
    const [c, d] = [step.randomTransform!(x, 11), step.randomTransform!(x, 11)];
    expect(read(c)).toEqual(read(d));
    // A fresh step with the same seed replays the same sequence of draws.
    const replay = gaussianNoisePreprocessing({ sigma: 0.2, seed: 5 }).apply(x);
    expect(read(replay)).toEqual(read(a));
    for (const t of [a, b, c]) expect(read(t).every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(step.treatment).toBe('eot');
    tf.dispose([x, a, b, c, d, replay]);
  });

  it('random resize-and-pad keeps the input size, is random per call and reproducible per draw', () => {
    const settings = { minSize: 8, maxSize: 11, padSize: 12, seed: 2 };
    const x = tf.tidy(() => tf.add(tf.mul(tf.randomUniform([2, 10, 10, 1], 0, 1, 'float32', 1), 0.5), 0.5));
    const draws = Array.from({ length: 30 }, (_, s) => drawResizePad(settings, s));
    for (const { size, top, left } of draws) {
      expect(size).toBeGreaterThanOrEqual(8);
      expect(size).toBeLessThanOrEqual(11);
      expect(top + size).toBeLessThanOrEqual(12);
      expect(left + size).toBeLessThanOrEqual(12);
    }
    expect(new Set(draws.map((d) => `${d.size},${d.top},${d.left}`)).size).toBeGreaterThan(5);

    const step = randomResizePadPreprocessing(settings);
    const outputs = [step.apply(x), step.apply(x), step.apply(x)];
    for (const y of outputs) expect(y.shape).toEqual([2, 10, 10, 1]);
    expect(new Set(outputs.map((y) => read(y).join(','))).size).toBeGreaterThan(1);
    const [c, d] = [step.randomTransform!(x, 4), step.randomTransform!(x, 4)];
    expect(read(c)).toEqual(read(d));
    // Resized to the same side on a canvas of the same side: the identity.
    const same = resizeAndPad(x, { minSize: 10, maxSize: 10, seed: 0 });
    read(same).forEach((v, i) => expect(v).toBeCloseTo(x.dataSync()[i], 6));
    // Padding shows as a zero border somewhere: the mass drops.
    const padded = resizeAndPad(x, { ...settings, draw: { size: 8, top: 0, left: 0 } });
    expect(tf.tidy(() => tf.sum(padded).dataSync()[0])).toBeLessThan(tf.tidy(() => tf.sum(x).dataSync()[0]) * 0.8);
    tf.dispose([x, c, d, same, padded, ...outputs]);
  });

  it('rebuilds every step from its stored spec', () => {
    const specs = [
      { kind: 'bit-depth', bits: 3 },
      { kind: 'median-filter', size: 2 },
      { kind: 'jpeg', quality: 75 },
      { kind: 'gaussian-noise', sigma: 0.1, seed: 1 },
      { kind: 'random-resize-pad', minSize: 28, maxSize: 31, padSize: 31, seed: 1 },
      { kind: 'quantise-inputs', levels: 4 },
    ] as const;
    for (const spec of specs) expect(createPreprocessing(spec).spec).toEqual(spec);
    expect(() => createPreprocessing({ kind: 'bit-depth', bits: 0 })).toThrow(/bits/);
    expect(() => createPreprocessing({ kind: 'nope' } as never)).toThrow(/unknown preprocessing/);
  });
});
