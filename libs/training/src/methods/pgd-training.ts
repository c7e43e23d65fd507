import { craftPgd } from '@bulwark/attacks';
import { asLogitsModel } from '@bulwark/models';
import type { PgdTraining } from './adversarial-training';
import { craftThenTrain, warmedStepSize, type MinibatchStep, type TrainingContext, type TrainingMethod } from './training-method';

export type PgdTrainingSettings = Required<Pick<PgdTraining, 'epsilon' | 'steps' | 'stepSize' | 'randomStart' | 'adversarialWeight'>>;

/**
 * PGD adversarial training (Madry et al. 2018); see `PgdTraining`. Each minibatch's random
 * start is seeded from the run's RNG (one draw per minibatch, only with a random start).
 */
export function pgdTraining(context: TrainingContext, settings: PgdTrainingSettings): TrainingMethod {
  const logitsModel = asLogitsModel(context.model);
  const craft = ({ x, y, epsilon }: MinibatchStep) =>
    craftPgd({
      model: logitsModel,
      inputs: x,
      labels: y,
      epsilon,
      steps: settings.steps,
      // At ε = 0 (a sanity run) craftPgd's own default step of 0 applies.
      stepSize: epsilon === 0 ? undefined : warmedStepSize(settings.stepSize, settings.epsilon, epsilon),
      randomStart: settings.randomStart,
      seed: settings.randomStart ? context.rng.tensorSeed() : 0,
    });
  return craftThenTrain(context, craft, settings.adversarialWeight);
}
