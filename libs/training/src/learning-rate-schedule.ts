import * as tf from '@tensorflow/tfjs';
import type { OptimizerSpec } from '@bulwark/spec';

/**
 * The learning rate as a pure function of the optimizer step, so a resumed run recomputes
 * it from its epoch instead of storing it in the checkpoint.
 *
 * - `constant`: `learningRate` at every step.
 * - `piecewise` (Madry et al.; Rice et al.): `learningRate · factor^k`, k = the number of
 *   `milestones` (in epochs) already passed. A milestone m takes effect from epoch m + 1
 *   (1-based), i.e. once m epochs are done, as PyTorch's MultiStepLR does.
 * - `cyclic` (the one-cycle triangle of Wong et al. 2020, "Fast is better than free"): linear
 *   from `minLearningRate` (default 0) up to `maxLearningRate` at fraction `peakAt` (default
 *   0.5; their MNIST code uses 0.4) of the run, then linearly back down to `minLearningRate`
 *   at its last step. Step s (0-based) of S takes the value at progress (s + 1) / S, as their
 *   code evaluates it at epoch + (i + 1) / batches: the first step is not wasted at lr 0.
 */
export type LearningRateSchedule =
  | { kind: 'constant'; learningRate: number }
  | { kind: 'piecewise'; learningRate: number; milestones: number[]; factor: number }
  | { kind: 'cyclic'; maxLearningRate: number; minLearningRate?: number; peakAt?: number };

export interface SchedulePosition {
  /** 0-based optimizer step over the whole run, steps before a resume included. */
  step: number;
  /** Optimizer steps per epoch: minibatches × replays (free adversarial training replays each minibatch). */
  stepsPerEpoch: number;
  /** Total epochs of the run. */
  epochs: number;
}

export function learningRateAt(schedule: LearningRateSchedule, { step, stepsPerEpoch, epochs }: SchedulePosition): number {
  switch (schedule.kind) {
    case 'constant':
      return schedule.learningRate;
    case 'piecewise': {
      const epochIndex = Math.floor(step / stepsPerEpoch);
      const passed = schedule.milestones.filter((milestone) => milestone <= epochIndex).length;
      return schedule.learningRate * schedule.factor ** passed;
    }
    case 'cyclic': {
      const low = schedule.minLearningRate ?? 0;
      const peak = schedule.peakAt ?? 0.5;
      const progress = (step + 1) / (stepsPerEpoch * epochs);
      const height = progress <= peak ? progress / peak : (1 - progress) / (1 - peak);
      return low + (schedule.maxLearningRate - low) * Math.max(0, height);
    }
  }
}

/** Throws, naming the field, on a schedule no run should start with. */
export function assertLearningRateSchedule(schedule: LearningRateSchedule): void {
  const positive = (name: string, value: number | undefined) => {
    if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
      throw new Error(`learning-rate schedule: ${name} must be a finite number > 0, got ${String(value)}`);
    }
  };
  switch (schedule.kind) {
    case 'constant':
      positive('learningRate', schedule.learningRate);
      return;
    case 'piecewise':
      positive('learningRate', schedule.learningRate);
      positive('factor', schedule.factor);
      if (!Array.isArray(schedule.milestones) || !schedule.milestones.every((m) => Number.isInteger(m) && m > 0)) {
        throw new Error(`learning-rate schedule: milestones must be positive integers (epochs), got ${JSON.stringify(schedule.milestones)}`);
      }
      return;
    case 'cyclic': {
      positive('maxLearningRate', schedule.maxLearningRate);
      const low = schedule.minLearningRate ?? 0;
      if (!(Number.isFinite(low) && low >= 0 && low <= schedule.maxLearningRate)) {
        throw new Error(`learning-rate schedule: minLearningRate must be in [0, maxLearningRate], got ${low}`);
      }
      const peak = schedule.peakAt ?? 0.5;
      if (!(peak > 0 && peak < 1)) {
        throw new Error(`learning-rate schedule: peakAt must be in (0, 1), got ${peak}`);
      }
      return;
    }
    default:
      throw new Error(`unknown learning-rate schedule ${JSON.stringify(schedule)}`);
  }
}

/**
 * What `createOptimizer` builds: a run's OptimizerSpec, with SGD's settings optional and Adam's
 * betas settable. `sgd` with a momentum > 0 is tf.train.momentum (what Wong et al. pair with
 * the cyclic schedule); without, plain SGD. `adam` with no betas is exactly tf.train.adam(lr),
 * so existing checkpoints restore into it.
 */
export type OptimizerOptions = (AdamSpec & { beta1?: number; beta2?: number }) | (Pick<SgdSpec, 'name'> & Partial<SgdSpec>);
type AdamSpec = Extract<OptimizerSpec, { name: 'adam' }>;
type SgdSpec = Extract<OptimizerSpec, { name: 'sgd' }>;

export function createOptimizer(spec: OptimizerOptions, learningRate: number): tf.Optimizer {
  if (!(Number.isFinite(learningRate) && learningRate > 0)) {
    throw new Error(`learningRate must be a finite number > 0, got ${learningRate}`);
  }
  switch (spec.name) {
    case 'adam':
      return tf.train.adam(learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999);
    case 'sgd': {
      const momentum = spec.momentum ?? 0;
      if (!(Number.isFinite(momentum) && momentum >= 0 && momentum < 1)) {
        throw new Error(`momentum must be in [0, 1), got ${momentum}`);
      }
      return momentum === 0 ? tf.train.sgd(learningRate) : tf.train.momentum(learningRate, momentum, spec.nesterov ?? false);
    }
    default:
      throw new Error(`unknown optimizer ${JSON.stringify(spec)}`);
  }
}

/**
 * Sets the rate the next optimizer step uses. tfjs 4.22 Adam reads its `learningRate` field
 * afresh in every applyGradients (it has no setter; the field is merely protected); SGD and
 * momentum keep it as a scalar that only `setLearningRate` rebuilds. Other optimizers cache
 * it in ways not worth chasing, so a schedule refuses them. (Classes are told apart by name:
 * tfjs optimizers answer `instanceof` by duck typing, so an Adam is "instanceof SGDOptimizer".)
 */
export function setOptimizerLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  assertSchedulable(optimizer);
  if (optimizer.getClassName() === 'Adam') {
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  } else {
    (optimizer as unknown as Pick<tf.SGDOptimizer, 'setLearningRate'>).setLearningRate(learningRate);
  }
}

const SCHEDULABLE = ['Adam', 'SGD', 'Momentum'];

export function assertSchedulable(optimizer: tf.Optimizer): void {
  if (!SCHEDULABLE.includes(optimizer.getClassName())) {
    throw new Error(`learning-rate schedules support Adam, SGD and momentum optimizers, not ${optimizer.getClassName()}`);
  }
}
