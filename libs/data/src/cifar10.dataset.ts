import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assertLabelsInRange, type Dataset, type DatasetSplit } from './dataset';
import { readDataFile } from './idx';

export const CIFAR10_CLASS_NAMES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10_TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_META_FILE = 'batches.meta.txt';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = PLANE * 3;
const RECORD = 1 + PIXELS;
const BATCH_DESCRIPTION = `a CIFAR-10 binary batch (records of 1 label byte + ${PIXELS} pixel bytes)`;

export interface LoadCifar10Options {
  /** The extracted "CIFAR-10 binary version" folder (cifar-10-batches-bin): five data batches, the test batch and, optionally, batches.meta.txt. */
  directory: string;
}

/**
 * CIFAR-10 (Krizhevsky 2009), 50,000 train and 10,000 test 32×32 colour images, with its
 * official split. The files store each image channel-planar (all red, then green, then
 * blue); `Dataset` is HWC like every tfjs image tensor, so the planes are interleaved here.
 */
export function loadCifar10({ directory }: LoadCifar10Options): DatasetSplit {
  const classNames = readClassNames(join(directory, CIFAR10_META_FILE));
  return {
    train: readBatches(
      'cifar10/train',
      CIFAR10_TRAIN_FILES.map((file) => join(directory, file)),
      classNames,
    ),
    test: readBatches('cifar10/test', [join(directory, CIFAR10_TEST_FILE)], [...classNames]),
  };
}

function readBatches(name: string, paths: string[], classNames: string[]): Dataset {
  // Sizes first, so a bad fifth batch fails before anything is read, and then one batch in
  // memory at a time beside the output: peak ≈ output + one 30 MB batch.
  const counts = paths.map(recordCount);
  const size = counts.reduce((sum, count) => sum + count, 0);
  const images = new Uint8Array(size * PIXELS);
  const labels = new Uint8Array(size);
  let written = 0;
  paths.forEach((path, i) => {
    const count = counts[i];
    const bytes = readDataFile(path, BATCH_DESCRIPTION);
    if (bytes.length !== count * RECORD) {
      throw new Error(`${path}: changed while being read (${count * RECORD} bytes, then ${bytes.length})`);
    }
    for (let r = 0; r < count; r += 1) {
      const src = r * RECORD + 1;
      const dst = (written + r) * PIXELS;
      labels[written + r] = bytes[src - 1];
      for (let p = 0; p < PLANE; p += 1) {
        images[dst + 3 * p] = bytes[src + p];
        images[dst + 3 * p + 1] = bytes[src + PLANE + p];
        images[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p];
      }
    }
    assertLabelsInRange(labels.subarray(written, written + count), classNames.length, path);
    written += count;
  });
  return { name, images, labels, shape: [SIDE, SIDE, 3], classNames, size };
}

function recordCount(path: string): number {
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${path}: file not found (expected ${BATCH_DESCRIPTION})`);
    throw new Error(`${path}: cannot read ${BATCH_DESCRIPTION}: ${(error as Error).message}`);
  }
  if (bytes === 0 || bytes % RECORD !== 0) {
    throw new Error(
      `${path}: truncated or not a CIFAR-10 binary batch: expected a whole number of ${RECORD}-byte records ` +
        `(1 label + 3×32×32 pixels), file has ${bytes} bytes (${Math.floor(bytes / RECORD)} records + ${bytes % RECORD})`,
    );
  }
  return bytes / RECORD;
}

function readClassNames(path: string): string[] {
  if (!existsSync(path)) return [...CIFAR10_CLASS_NAMES];
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== CIFAR10_CLASS_NAMES.length) {
    throw new Error(`${path}: expected ${CIFAR10_CLASS_NAMES.length} class names, one a line, found ${names.length}`);
  }
  return names;
}
