export { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, type EvaluateFgsmOptions, type FgsmEvaluation } from './evaluate-fgsm';
export {
  evaluateRobustness,
  evaluateShard,
  mergeShards,
  type AttackOutcome,
  type EpsilonOutcome,
  type EvaluateRobustnessOptions,
  type EvaluateShardOptions,
  type EvaluationFlag,
  type GalleryExample,
  type MergeShardsOptions,
  type RobustnessEvaluation,
  type ShardAttackResult,
  type ShardEpsilonResult,
  type ShardGalleryExample,
  type ShardModelChecks,
  type ShardRange,
  type ShardResult,
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
