export { adaptivePreprocessing, applyPreprocessing, type AdaptiveTreatment, type Preprocessing } from './preprocessing/preprocessing';
export { bitDepthPreprocessing, quantise, reduceBitDepth } from './preprocessing/bit-depth';
export { medianFilter, medianFilterPreprocessing } from './preprocessing/median-filter';
export { jpegPreprocessing, jpegRecompress } from './preprocessing/jpeg';
export { addGaussianNoise, gaussianNoisePreprocessing } from './preprocessing/gaussian-noise';
export { drawResizePad, randomResizePadPreprocessing, resizeAndPad, type RandomResizePadOptions, type ResizePadDraw } from './preprocessing/random-resize-pad';
export { quantiseInputsPreprocessing, saturateLogits, softmaxOutput, type GradientMaskingSpec, type LogitsSquash } from './gradient-masking';
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
