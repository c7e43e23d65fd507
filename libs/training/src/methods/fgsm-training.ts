import { craftFgsm } from '@bulwark/attacks';
import { asLogitsModel } from '@bulwark/models';
import type { FgsmTraining } from './adversarial-training';
import { craftThenTrain, type MinibatchStep, type TrainingContext, type TrainingMethod } from './training-method';

/**
 * FGSM adversarial training (Goodfellow et al. 2015); see `FgsmTraining`. Draws nothing from
 * the run's RNG, so runs and checkpoints from before the method choice existed replay exactly.
 */
export function fgsmTraining(context: TrainingContext, { adversarialWeight }: Required<Pick<FgsmTraining, 'adversarialWeight'>>): TrainingMethod {
  const logitsModel = asLogitsModel(context.model);
  // Against the current weights, before the step changes them.
  const craft = ({ x, y, epsilon }: MinibatchStep) => craftFgsm({ model: logitsModel, inputs: x, labels: y, epsilon });
  return craftThenTrain(context, craft, adversarialWeight);
}
