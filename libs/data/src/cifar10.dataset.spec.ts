import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBatch } from './batches';
import { CIFAR10_CLASS_NAMES, loadCifar10 } from './cifar10.dataset';

const PLANE = 1024;
const RECORD = 3073;

interface Pixel {
  y: number;
  x: number;
  channel: 0 | 1 | 2;
  value: number;
}

/** One record in the published layout: label byte, then the red, green and blue 32×32 planes. */
function record(label: number, pixels: Pixel[]): Uint8Array {
  const bytes = new Uint8Array(RECORD);
  bytes[0] = label;
  for (const { y, x, channel, value } of pixels) bytes[1 + channel * PLANE + y * 32 + x] = value;
  return bytes;
}

function writeBatch(path: string, records: Uint8Array[]): void {
  const bytes = new Uint8Array(records.length * RECORD);
  records.forEach((r, i) => bytes.set(r, i * RECORD));
  writeFileSync(path, bytes);
}

/** Example `id` (0-based over the train batches) has label id % 10 and its id at red (0, 0). */
function writeCifar(dir: string, recordsPerBatch = 2): void {
  for (let b = 0; b < 5; b += 1) {
    writeBatch(
      join(dir, `data_batch_${b + 1}.bin`),
      Array.from({ length: recordsPerBatch }, (_, r) => {
        const id = b * recordsPerBatch + r;
        return record(id % 10, [{ y: 0, x: 0, channel: 0, value: id }]);
      }),
    );
  }
  writeBatch(join(dir, 'test_batch.bin'), [
    record(7, [
      { y: 3, x: 5, channel: 0, value: 255 },
      { y: 10, x: 20, channel: 1, value: 200 },
      { y: 31, x: 31, channel: 2, value: 77 },
    ]),
    record(2, []),
    record(9, [{ y: 0, x: 31, channel: 2, value: 1 }]),
  ]);
}

describe('CIFAR-10 binary batches', () => {
  let root: string;
  let n = 0;
  const freshDir = () => mkdtempSync(join(root, `cifar-${(n += 1)}-`));
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bulwark-cifar-'));
    await tf.setBackend('cpu');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('loads the official split in batch order, channel-planar records as HWC [32,32,3]', () => {
    const dir = freshDir();
    writeCifar(dir);
    const { train, test } = loadCifar10({ directory: dir });

    expect([train.name, train.size, test.name, test.size]).toEqual(['cifar10/train', 10, 'cifar10/test', 3]);
    expect(train.shape).toEqual([32, 32, 3]);
    expect(train.classNames).toEqual([...CIFAR10_CLASS_NAMES]);
    expect(train.images.length).toBe(10 * 3072);
    expect(Array.from({ length: 10 }, (_, i) => train.images[i * 3072])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(test.labels)).toEqual([7, 2, 9]);

    const at = (example: number, y: number, x: number, c: number) => test.images[example * 3072 + (y * 32 + x) * 3 + c];
    expect([at(0, 3, 5, 0), at(0, 3, 5, 1), at(0, 3, 5, 2)]).toEqual([255, 0, 0]);
    expect([at(0, 10, 20, 0), at(0, 10, 20, 1), at(0, 10, 20, 2)]).toEqual([0, 200, 0]);
    expect(at(0, 31, 31, 2)).toBe(77);
    expect(at(2, 0, 31, 2)).toBe(1);
    // Nothing else is set: a CHW/HWC mix-up would scatter these values elsewhere.
    expect(test.images.subarray(0, 3072).filter((v) => v !== 0).length).toBe(3);

    const { x, y } = makeBatch(test, Uint32Array.from([0, 2]));
    expect(x.shape).toEqual([2, 32, 32, 3]);
    const pixels = x.arraySync();
    expect(pixels[0][3][5]).toEqual([1, 0, 0]);
    expect(pixels[0][10][20][1]).toBeCloseTo(200 / 255, 6);
    expect(pixels[0][31][31][2]).toBeCloseTo(77 / 255, 6);
    expect(pixels[1][0][31]).toEqual([0, 0, Math.fround(1 / 255)]);
    expect(Array.from(y.dataSync())).toEqual([7, 9]);
    tf.dispose([x, y]);
  });

  it('takes class names from batches.meta.txt when present', () => {
    const dir = freshDir();
    writeCifar(dir);
    const names = CIFAR10_CLASS_NAMES.map((name) => name.toUpperCase());
    writeFileSync(join(dir, 'batches.meta.txt'), `${names.join('\n')}\n\n`);
    expect(loadCifar10({ directory: dir }).test.classNames).toEqual(names);

    writeFileSync(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    expect(() => loadCifar10({ directory: dir })).toThrow(`${join(dir, 'batches.meta.txt')}: expected 10 class names, one a line, found 2`);
  });

  it('reports a truncated batch, a missing batch and a label out of range, naming the file', () => {
    const truncated = freshDir();
    writeCifar(truncated);
    truncateSync(join(truncated, 'data_batch_3.bin'), 2 * RECORD - 100);
    expect(() => loadCifar10({ directory: truncated })).toThrow(
      `${join(truncated, 'data_batch_3.bin')}: truncated or not a CIFAR-10 binary batch: expected a whole number of 3073-byte records ` +
        '(1 label + 3×32×32 pixels), file has 6046 bytes (1 records + 2973)',
    );

    const missing = freshDir();
    writeCifar(missing);
    rmSync(join(missing, 'data_batch_4.bin'));
    expect(() => loadCifar10({ directory: missing })).toThrow(`${join(missing, 'data_batch_4.bin')}: file not found (expected a CIFAR-10 binary batch`);

    const badLabel = freshDir();
    writeCifar(badLabel);
    writeBatch(join(badLabel, 'test_batch.bin'), [record(3, []), record(10, [])]);
    expect(() => loadCifar10({ directory: badLabel })).toThrow(
      `${join(badLabel, 'test_batch.bin')}: label 10 at index 1 is out of range: expected 0..9 (10 classes)`,
    );
  });
});
