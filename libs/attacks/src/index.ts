export { apgd, apgdCheckpoints, type ApgdLoss, type ApgdOptions } from './apgd';
export {
  crossEntropyObjective,
  dlrObjective,
  dlrTargetedObjective,
  lossAndGradient,
  marginObjective,
  type AttackLoss,
  type LogitsObjective,
  type LossAndGradient,
} from './attack-losses';
export type { AttackResult, PerturbationNorm } from './attack-result';
export { bpda, bpdaTransform, stopGradient, type BpdaOptions, type InputTransform } from './bpda';
export { carliniWagner, type CarliniWagnerOptions } from './carlini-wagner';
export { deepFool, type DeepFoolOptions } from './deep-fool';
export { eot, type EotOptions, type RandomTransform } from './eot';
export { craftFgsm, fgsm, type FgsmOptions } from './fgsm';
export { finishAttack, type FinishAttackOptions } from './finish-attack';
export { readAllAndDispose, readAndDispose, type TensorValues } from './read-tensors';
export { mifgsm, type MifgsmOptions } from './mifgsm';
export { createSeededRandom, restoreSeededRandom, type SeededRandom } from './seeded-random';
export { square, squareFraction, type SquareOptions, type SquareResult } from './square';
export {
  STANDARD_SUITE_STAGES,
  standardSuite,
  type StandardSuiteOptions,
  type SuiteResult,
  type SuiteStageName,
  type SuiteStageReport,
} from './standard-suite';
export {
  blackBoxBeatWhiteBox,
  gradientHealth,
  iterativeWeakerThanSingleStep,
  notBrokenAtLargeEpsilon,
  robustnessRoseWithEpsilon,
  stochasticForwardPass,
  type CurvePoint,
  type GradientHealth,
  type ValidityFlag,
  type ValidityFlagName,
} from './validity-checks';
export { bim, craftPgd, pgd, type BimOptions, type PgdEvaluationOptions, type PgdOptions } from './pgd';
export { accuracy, predictLabels, type AccuracyOptions, type LogitsModel, type PredictOptions } from './logits-model';
export { softmaxCrossEntropy, type SoftmaxCrossEntropyOptions } from './softmax-cross-entropy';
export { checkPerturbation, PERTURBATION_TOLERANCE, verifyPerturbation, type PerturbationCheck, type VerifyPerturbationOptions } from './verify-perturbation';
export { ATTACKS_VERSION } from './version';
