export { batchIterator, makeBatch, type Batch, type BatchIndices, type BatchIteratorOptions } from './datasets/batches';
export {
  CHECKPOINT_VERSION,
  checkpointDigest,
  readCheckpointHeader,
  restoreCheckpoint,
  serializeCheckpoint,
  type CheckpointHeader,
  type CheckpointTensorEntry,
  type CheckpointTensorRole,
  type RestoredState,
  type RestoreTargets,
  type SerializeCheckpointOptions,
} from './checkpoints/checkpoint';
export { splitDataset, subsetDataset, type Dataset, type DatasetSplit, type SplitOptions } from './datasets/dataset';
export { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, type EvaluateFgsmOptions, type FgsmEvaluation } from './train/evaluate-fgsm';
export { loadMnistDigits } from './datasets/mnist-digits.dataset';
export { asLogitsModel, createModel, isModelName, MODEL_NAMES, type ModelName, type ModelSpec } from './models/model-zoo';
export { createRng, restoreRng, type Rng } from './rng';
export { BACKEND_NAMES, isBackendName, selectBackend, type BackendInfo, type BackendName, type SelectBackendOptions } from './backend/select-backend';
export {
  trainClassifier,
  type BatchProgress,
  type EpochResult,
  type FgsmSettings,
  type TrainOptions,
  type TrainSummary,
} from './train/train-classifier';
