import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { assertLabelsInRange, type Dataset, type DatasetSplit } from './dataset';
import { readIdxFile } from './idx';

/** Where the Debian package `dataset-fashion-mnist` installs the four gzipped IDX files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** The file names MNIST and Fashion-MNIST are published under (both use the same four). */
export const STANDARD_IDX_FILES: Readonly<IdxFiles> = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

export interface LoadIdxDatasetOptions {
  /** Dataset name; the parts are called `${name}/train` and `${name}/test`. */
  name: string;
  directory: string;
  /**
   * Relative to `directory` (or absolute). A name found missing is also looked for with
   * `.gz` added or removed, since downloads are often gunzipped in place; whether a file is
   * compressed is read from its first bytes, never from its name.
   */
  files: IdxFiles;
  /** Index = label; every label in the files must be below its length. */
  classNames: readonly string[];
}

export interface LoadIdxDirectoryOptions {
  /** Holds the four files under their standard names (gzipped or not). */
  directory?: string;
}

/** An IDX data set (MNIST layout: idx3 uint8 images, idx1 uint8 labels) with its official train / test split. */
export function loadIdxDataset({ name, directory, files, classNames }: LoadIdxDatasetOptions): DatasetSplit {
  const train = loadIdxPart(`${name}/train`, directory, files.trainImages, files.trainLabels, classNames);
  const test = loadIdxPart(`${name}/test`, directory, files.testImages, files.testLabels, classNames);
  if (train.shape.join() !== test.shape.join()) {
    throw new Error(`${name}: train images are ${train.shape.slice(0, 2).join('×')} but test images are ${test.shape.slice(0, 2).join('×')}`);
  }
  return { train, test };
}

/** Fashion-MNIST (Xiao et al. 2017): 60,000 train and 10,000 test 28×28 grey images of 10 kinds of clothing. */
export function loadFashionMnist({ directory = DEFAULT_FASHION_MNIST_DIR }: LoadIdxDirectoryOptions = {}): DatasetSplit {
  if (!existsSync(directory)) {
    throw new Error(
      `Fashion-MNIST directory ${directory} does not exist: install the Debian package dataset-fashion-mnist ` +
        `(apt-get install dataset-fashion-mnist) or pass a directory holding ${Object.values(STANDARD_IDX_FILES).join(', ')}`,
    );
  }
  return loadIdxDataset({ name: 'fashion-mnist', directory, files: STANDARD_IDX_FILES, classNames: FASHION_MNIST_CLASS_NAMES });
}

/** The classic MNIST IDX files (60,000 train, 10,000 test digits); unlike Fashion-MNIST they have no packaged home, so the directory is required. */
export function loadMnistIdx({ directory }: Required<LoadIdxDirectoryOptions>): DatasetSplit {
  return loadIdxDataset({
    name: 'mnist',
    directory,
    files: STANDARD_IDX_FILES,
    classNames: Array.from({ length: 10 }, (_, digit) => String(digit)),
  });
}

function loadIdxPart(name: string, directory: string, imagesFile: string, labelsFile: string, classNames: readonly string[]): Dataset {
  const imagesPath = locate(directory, imagesFile, 'images');
  const labelsPath = locate(directory, labelsFile, 'labels');
  const images = readIdxFile(imagesPath, { rank: 3, what: 'images' });
  const labels = readIdxFile(labelsPath, { rank: 1, what: 'labels' });
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) {
    throw new Error(`labels and images disagree: ${labelsPath} has ${labels.dims[0]} labels, ${imagesPath} has ${count} images`);
  }
  assertLabelsInRange(labels.data, classNames.length, labelsPath);
  return { name, images: images.data, labels: labels.data, shape: [height, width, 1], classNames: [...classNames], size: count };
}

function locate(directory: string, file: string, what: string): string {
  const path = resolve(directory, file);
  if (existsSync(path)) return path;
  const alternative = path.endsWith('.gz') ? path.slice(0, -'.gz'.length) : `${path}.gz`;
  if (existsSync(alternative)) return alternative;
  throw new Error(`${path}: file not found (nor ${alternative}); expected an IDX file of ${what}`);
}
