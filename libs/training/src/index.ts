export * from './data-parallel';
export {
  trainClassifier,
  trainingMethodFor,
  type BatchProgress,
  type EpochResult,
  type FgsmSettings,
  type TrainLoopOptions,
  type TrainOptions,
  type TrainSummary,
} from './train-classifier';
export {
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
} from './methods/adversarial-training';
export {
  assertLearningRateSchedule,
  createOptimizer,
  learningRateAt,
  setOptimizerLearningRate,
  type LearningRateSchedule,
  type OptimizerOptions,
  type SchedulePosition,
} from './learning-rate-schedule';
export { carveHeldOut, type OverfittingGuardBest, type OverfittingGuardOptions, type OverfittingGuardReport } from './overfitting-guard';
export { distill, trainTeacherAtTemperature, type DistillOptions, type TeacherTrainingOptions } from './distillation';
