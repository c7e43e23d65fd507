import type { FgsmRsTraining } from './adversarial-training';
import { pgdTraining } from './pgd-training';
import type { TrainingContext, TrainingMethod } from './training-method';

/**
 * "Fast" adversarial training, FGSM with a random start (Wong, Rice & Kolter 2020); see
 * `FgsmRsTraining`. Their step is exactly one PGD step from a uniform random start:
 * δ₀ ~ U[−ε, ε] (x + δ₀ clipped to [0,1]), δ = Π(δ₀ + α·sign(∇)), α = 1.25ε by default.
 */
export function fgsmRsTraining(
  context: TrainingContext,
  { epsilon, stepSize, adversarialWeight }: Required<Pick<FgsmRsTraining, 'epsilon' | 'stepSize' | 'adversarialWeight'>>,
): TrainingMethod {
  return pgdTraining(context, { epsilon, steps: 1, stepSize, randomStart: true, adversarialWeight });
}
