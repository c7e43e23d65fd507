export { adaptivePreprocessing, applyPreprocessing, type AdaptiveTreatment, type Preprocessing } from './preprocessing/preprocessing';
export { bitDepthReduction, quantise, reduceBitDepth } from './preprocessing/bit-depth';
export { medianFilter, medianSmoothing } from './preprocessing/median-filter';
export { jpegCompression, jpegRecompress } from './preprocessing/jpeg-compression';
export { addGaussianNoise, gaussianNoise } from './preprocessing/gaussian-noise';
export { drawResizePad, randomResizePad, randomResizePadTransform, type RandomResizePadOptions, type ResizePadDraw } from './preprocessing/random-resize-pad';
export { quantiseInputs, saturateLogits, softmaxOutput, type GradientMaskingSpec, type LogitsSquash } from './gradient-masking';
export {
  adaptiveView,
  defendModel,
  describeDefense,
  naiveView,
  type AdaptiveViewOptions,
  type DefendedModel,
  type DefendModelOptions,
  type DefenseDescription,
} from './defended-model';
export { createDefense, createLogitsSquash, createPreprocessing, maskGradients } from './create-defense';
export { detectionMetrics, rocAuc, thresholdAtFpr, type DetectionMetrics, type DetectionMetricsOptions } from './detectors/detection-metrics';
export { scoreDataset, type Detector } from './detectors/detector';
export { fitDetector, fitDetectorFromSpec, type DetectorSpec, type FitDetectorFromSpecOptions, type FitDetectorOptions } from './detectors/fit-detector';
export { lowConfidence } from './detectors/confidence-detector';
export { defaultSqueezers, squeezingScore } from './detectors/squeezing-detector';
export { minMahalanobis, penultimateFeatures } from './detectors/mahalanobis-detector';
export {
  detectorAwarePgd,
  detectorVerdict,
  judgeOnClassifier,
  judgeWithDetector,
  type ClassifierJudgement,
  type DetectorAwarePgdOptions,
  type DetectorAwareResult,
  type JudgeOptions,
} from './detectors/detector-aware-attack';
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
} from './defense-stack';
