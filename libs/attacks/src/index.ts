export type { AttackResult, PerturbationNorm } from './attack-result';
export { craftFgsm, fgsm, type FgsmOptions } from './fgsm';
export { accuracy, predictLabels, type AccuracyOptions, type LogitsModel, type PredictOptions } from './logits-model';
export { softmaxCrossEntropy, type SoftmaxCrossEntropyOptions } from './softmax-cross-entropy';
export {
  checkPerturbation,
  PERTURBATION_TOLERANCE,
  verifyPerturbation,
  type PerturbationCheck,
  type VerifyPerturbationOptions,
} from './verify-perturbation';
