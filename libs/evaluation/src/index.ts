export { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, type EvaluateFgsmOptions, type FgsmEvaluation } from './evaluate-fgsm';
export { evaluateRobustness } from './evaluate-robustness';
export { evaluateShard } from './evaluate-shard';
export { mergeShards, type MergeShardsOptions } from './merge-shards';
export {
  type AttackOutcome,
  type EpsilonOutcome,
  type EvaluateRobustnessOptions,
  type EvaluateShardOptions,
  type EvaluationFlag,
  type GalleryExample,
  type RobustnessEvaluation,
  type ShardAttackResult,
  type ShardEpsilonResult,
  type ShardGalleryExample,
  type ShardModelChecks,
  type ShardRange,
  type ShardResult,
} from './robustness-evaluation';
export {
  defenseView,
  describeAdaptiveAttack,
  evaluateDefense,
  type DefenseEvaluation,
  type DefenseView,
  type EvaluateDefenseOptions,
} from './evaluate-defense';
export { evaluationViews, planShards, type PlannedShard, type ShardPlanOptions } from './shard-plan';
export {
  evaluateDetection,
  type AttackDetectionOutcome,
  type DetectionEvaluation,
  type DetectionEvaluations,
  type DetectorAwareSettings,
  type EvaluateDetectionOptions,
} from './evaluate-detection';
