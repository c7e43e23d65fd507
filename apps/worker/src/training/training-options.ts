import type * as tf from '@tensorflow/tfjs';
import type { TrainingMethodSpec, TrainingRunSpec } from '@bulwark/spec';
import { AdversarialTraining, LearningRateSchedule, createOptimizer } from '@bulwark/training';

/**
 * The stored run spec (the job contract's plain data) as @bulwark/training's options. Runs
 * stored before methods, optimizers and schedules existed take what they ran with then:
 * FGSM at attack.epsilon, Adam, a constant rate.
 */
export function adversarialTrainingOf(spec: TrainingRunSpec): AdversarialTraining | undefined {
  if (spec.kind !== 'adversarial-training') return undefined;
  const method: TrainingMethodSpec = spec.method ?? { name: 'fgsm', epsilon: spec.attack.epsilon };
  const { name, epsilon, stepSize, steps, randomStart, beta, replays, adversarialWeight, epsilonWarmupEpochs } = method;
  const epsilonWarmup = epsilonWarmupEpochs ? { unit: 'epochs' as const, length: epsilonWarmupEpochs } : undefined;
  switch (name) {
    case 'fgsm':
      return { method: 'fgsm', epsilon, adversarialWeight, epsilonWarmup };
    case 'fgsm-rs':
      return { method: 'fgsm-rs', epsilon, stepSize, adversarialWeight, epsilonWarmup };
    case 'pgd':
      return { method: 'pgd', epsilon, steps, stepSize, randomStart, adversarialWeight, epsilonWarmup };
    case 'trades':
      return { method: 'trades', epsilon, beta, steps, stepSize, epsilonWarmup };
    case 'free':
      return { method: 'free', epsilon, replays, stepSize, epsilonWarmup };
  }
}

export function learningRateScheduleOf(spec: TrainingRunSpec): LearningRateSchedule {
  const schedule = spec.schedule ?? { kind: 'constant' };
  switch (schedule.kind) {
    case 'constant':
      return { kind: 'constant', learningRate: spec.learningRate };
    case 'piecewise':
      return { kind: 'piecewise', learningRate: spec.learningRate, milestones: schedule.milestones, factor: schedule.factor };
    case 'cyclic':
      return { kind: 'cyclic', maxLearningRate: spec.learningRate, minLearningRate: schedule.minLearningRate, peakAt: schedule.peakAt };
  }
}

export function optimizerOf(spec: TrainingRunSpec): tf.Optimizer {
  return createOptimizer(spec.optimizer ?? { name: 'adam' }, spec.learningRate);
}
