export { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, type EvaluateFgsmOptions, type FgsmEvaluation } from './evaluate-fgsm';
export {
  evaluateRobustness,
  type AttackOutcome,
  type EpsilonOutcome,
  type EvaluateRobustnessOptions,
  type EvaluationFlag,
  type GalleryExample,
  type RobustnessEvaluation,
} from './evaluate-robustness';
export { evaluateDefense, type DefenseEvaluation, type DefenseView, type EvaluateDefenseOptions } from './evaluate-defense';
export {
  evaluateDetection,
  type AttackDetectionOutcome,
  type DetectionEvaluation,
  type DetectionEvaluations,
  type DetectorAwareSettings,
  type EvaluateDetectionOptions,
} from './evaluate-detection';
