export { batchCount, batchIterator, makeBatch, sequentialBatches, type Batch, type BatchIndices, type BatchIteratorOptions } from './batches';
export {
  seededSubset,
  seededSubsets,
  splitDataset,
  subsetDataset,
  takeExamples,
  validationSplit,
  type Dataset,
  type DatasetSplit,
  type SplitOptions,
  type TrainValidationSplit,
  type ValidationSplitOptions,
} from './dataset';
export { CIFAR10_CLASS_NAMES, loadCifar10, type LoadCifar10Options } from './cifar10.dataset';
export { encodeIdx, parseIdx, readIdxFile, type IdxArray, type ParseIdxOptions } from './idx';
export {
  DEFAULT_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASS_NAMES,
  loadFashionMnist,
  loadIdxDataset,
  loadMnistIdx,
  STANDARD_IDX_FILES,
  type IdxFiles,
  type LoadIdxDatasetOptions,
  type LoadIdxDirectoryOptions,
} from './idx.dataset';
export { isDatasetName, loadDataset, type LoadDatasetOptions, type LoadedDataset, type TestSplit } from './load-dataset';
export { loadMnistDigits } from './mnist-digits.dataset';
export { createRng, restoreRng, type Rng } from './rng';
export { encodeNpy, isNpy, parseNpy, type NpyArray } from './npy';
export {
  assembleUploadedDataset,
  DATASET_PART_NAMES,
  DatasetUploadError,
  type AssembledUpload,
  type AssembleUploadOptions,
  type DatasetPartName,
  type UploadLimits,
} from './uploaded-dataset';
