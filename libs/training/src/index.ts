export { batchIterator, makeBatch, type Batch, type BatchIndices, type BatchIteratorOptions } from './datasets/batches';
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
} from './checkpoints/checkpoint';
export {
  seededSubset,
  seededSubsets,
  splitDataset,
  subsetDataset,
  validationSplit,
  type Dataset,
  type DatasetSplit,
  type SplitOptions,
  type TrainValidationSplit,
  type ValidationSplitOptions,
} from './datasets/dataset';
export { CIFAR10_CLASS_NAMES, loadCifar10, type LoadCifar10Options } from './datasets/cifar10.dataset';
export { encodeIdx, parseIdx, readIdxFile, type IdxArray, type ParseIdxOptions } from './datasets/idx';
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
} from './datasets/idx.dataset';
export {
  DATASET_NAMES,
  isDatasetName,
  loadDataset,
  type DatasetName,
  type LoadDatasetOptions,
  type LoadedDataset,
  type TestSplit,
} from './datasets/load-dataset';
export { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, type EvaluateFgsmOptions, type FgsmEvaluation } from './train/evaluate-fgsm';
export { loadMnistDigits } from './datasets/mnist-digits.dataset';
export {
  applyModel,
  asLogitsModel,
  createModel,
  isModelName,
  MIN_INPUT_SIZE,
  MODEL_NAMES,
  type ModelName,
  type ModelSpec,
} from './models/model-zoo';
export { directoryReader, directoryWriter, MODEL_JSON_FILE, WEIGHTS_FILE } from './models/model-directory';
export { fromLayersModelFiles, restoreLayersWeights, saveLayersModel, toLayersModelFiles, type LayersModelFiles } from './models/layers-model-files';
export {
  importLayersModel,
  type ImportedLayersModel,
  type ImportedModelInfo,
  type ImportLayersModelOptions,
  type LayersModelSource,
  type LogitsExposure,
} from './models/import-layers-model';
export {
  exportCheckpointAsLayersModel,
  exportLayersModel,
  type ExportCheckpointOptions,
  type ExportedCheckpoint,
  type ExportedLayersModel,
  type ExportLayersModelOptions,
} from './models/export-layers-model';
export { createRng, restoreRng, type Rng } from './rng';
export { BACKEND_NAMES, isBackendName, selectBackend, type BackendInfo, type BackendName, type SelectBackendOptions } from './backend/select-backend';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/wasm-kernels/register-wasm-training-kernels';
export {
  trainClassifier,
  type BatchProgress,
  type EpochResult,
  type FgsmSettings,
  type TrainLoopOptions,
  type TrainOptions,
  type TrainSummary,
} from './train/train-classifier';
export {
  ADVERSARIAL_TRAINING_METHODS,
  resolveAdversarialTraining,
  warmedEpsilon,
  type AdversarialTraining,
  type AdversarialTrainingMethodName,
  type EpsilonWarmup,
  type FgsmRsTraining,
  type FgsmTraining,
  type FreeTraining,
  type PgdTraining,
  type ResolvedAdversarialTraining,
  type TradesTraining,
} from './train/methods/adversarial-training';
export {
  assertLearningRateSchedule,
  createOptimizer,
  learningRateAt,
  setOptimizerLearningRate,
  type LearningRateSchedule,
  type OptimizerSpec,
  type SchedulePosition,
} from './train/learning-rate-schedule';
export {
  carveHeldOut,
  type OverfittingGuardBest,
  type OverfittingGuardOptions,
  type OverfittingGuardReport,
} from './train/overfitting-guard';
export { distill, trainTeacherAtTemperature, type DistillOptions, type TeacherTrainingOptions } from './train/distillation';
export {
  evaluateRobustness,
  ROBUSTNESS_ATTACKS,
  type AttackOutcome,
  type EpsilonOutcome,
  type EvaluateRobustnessOptions,
  type EvaluationFlag,
  type GalleryExample,
  type RobustnessAttack,
  type RobustnessEvaluation,
  type RobustnessParams,
} from './evaluate/evaluate-robustness';
export {
  adaptivePreprocessing,
  applyPreprocessing,
  type AdaptiveTreatment,
  type Preprocessing,
  type PreprocessingKind,
  type PreprocessingSpec,
} from './defenses/preprocessing';
export { bitDepthReduction, quantise, reduceBitDepth } from './defenses/bit-depth';
export { medianFilter, medianSmoothing } from './defenses/median-filter';
export { jpegCompression, jpegRecompress } from './defenses/jpeg-compression';
export { addGaussianNoise, gaussianNoise } from './defenses/gaussian-noise';
export { drawResizePad, randomResizePad, randomResizePadTransform, type RandomResizePadOptions, type ResizePadDraw } from './defenses/random-resize-pad';
export { quantiseInputs, saturateLogits, softmaxOutput, type GradientMaskingSpec, type LogitsSquash, type LogitsSquashSpec } from './defenses/gradient-masking';
export {
  adaptiveView,
  defendModel,
  describeDefense,
  naiveView,
  type AdaptiveViewOptions,
  type DefendedModel,
  type DefendModelOptions,
  type DefenseDescription,
  type DefenseSpec,
} from './defenses/defended-model';
export { createDefense, createLogitsSquash, createPreprocessing, maskGradients } from './defenses/create-defense';
export { evaluateDefense, type DefenseEvaluation, type DefenseView, type EvaluateDefenseOptions } from './defenses/evaluate-defense';
export { detectionMetrics, rocAuc, thresholdAtFpr, type DetectionMetrics, type DetectionMetricsOptions } from './defenses/detection-metrics';
export { scoreDataset, type Detector, type DetectorDescription, type DetectorKind } from './defenses/detector';
export { fitDetector, fitDetectorFromSpec, type DetectorSpec, type FitDetectorFromSpecOptions, type FitDetectorOptions } from './defenses/fit-detector';
export { lowConfidence } from './defenses/confidence-detector';
export { defaultSqueezers, squeezingScore } from './defenses/squeezing-detector';
export { DEFAULT_SHRINKAGE, minMahalanobis, penultimateFeatures } from './defenses/mahalanobis-detector';
export {
  detectorAwarePgd,
  detectorVerdict,
  judgeOnClassifier,
  judgeWithDetector,
  type ClassifierJudgement,
  type DetectorAwarePgdOptions,
  type DetectorAwareResult,
  type JudgeOptions,
} from './defenses/detector-aware-attack';
export {
  createDefenseStack,
  fitDefenseStack,
  fitStackDetector,
  type DefenseStack,
  type DefenseStackDescription,
  type DefenseStackSpec,
  type FitDefenseStackOptions,
  type FitStackDetectorOptions,
  type StackPrediction,
} from './defenses/defense-stack';
export {
  evaluateDetection,
  type AttackDetectionOutcome,
  type DetectionEvaluation,
  type DetectionEvaluations,
  type DetectorAwareSettings,
  type EvaluateDetectionOptions,
} from './defenses/evaluate-detection';
