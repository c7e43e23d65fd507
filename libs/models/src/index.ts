export {
  CHECKPOINT_VERSION,
  checkpointDigest,
  readCheckpointHeader,
  restoreCheckpoint,
  restoreModelWeights,
  serializeCheckpoint,
  type CheckpointHeader,
  type CheckpointTensorEntry,
  type CheckpointTensorRole,
  type RestoredState,
  type RestoreTargets,
  type SerializeCheckpointOptions,
} from './checkpoint';
export { applyModel, asLogitsModel, createModel, isModelName, MIN_INPUT_SIZE, trainableVariables, type ModelSpec } from './model-zoo';
export { directoryReader, directoryWriter, MODEL_JSON_FILE, WEIGHTS_FILE } from './model-directory';
export { fromLayersModelFiles, restoreLayersWeights, saveLayersModel, toLayersModelFiles, type LayersModelFiles } from './layers-model-files';
export {
  importLayersModel,
  type ImportedLayersModel,
  type ImportedModelInfo,
  type ImportLayersModelOptions,
  type LayersModelSource,
  type LogitsExposure,
} from './import-layers-model';
export {
  checkpointAsLayersModelFiles,
  exportCheckpointAsLayersModel,
  exportLayersModel,
  type CheckpointModelFiles,
  type CheckpointModelFilesOptions,
  type ExportCheckpointOptions,
  type ExportedCheckpoint,
  type ExportedLayersModel,
  type ExportLayersModelOptions,
} from './export-layers-model';
