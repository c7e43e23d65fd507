import { DEFAULT_EVAL_ATTACK, DEFAULT_TEST_FRACTION } from './common-fields.schema';
import type { Resolution } from './run-spec';
import {
  CreateRunRequest,
  DEFAULT_LEARNING_RATE,
  DEFAULT_OVERFITTING_GUARD,
  DEFAULT_SGD_MOMENTUM,
  LearningRateScheduleSpec,
  OptimizerSpec,
  OverfittingGuardSpec,
  TrainingMethodSpec,
  TrainingRunSpec,
} from './training-run.schema';
import { IMPORTED_MODEL } from './vocabulary';

/** Limits a deployment sets (MAX_EPOCHS, MAX_BATCH_SIZE), passed in so the spec needs no config. */
export interface RunLimits {
  maxEpochs: number;
  maxBatchSize: number;
}

/**
 * A POST /runs body (already through createRunRequestSchema) as the spec to store: the rules
 * between fields and the deployment's limits checked, every default filled in, so the stored
 * spec says exactly what ran. What needs the database (checkpoints, and the ids they add to the
 * spec) is the caller's. Keys come in a fixed order: the spec's hash identifies a request.
 */
export function resolveRunSpec(request: CreateRunRequest, limits: RunLimits): Resolution<TrainingRunSpec> {
  const errors = runSpecProblems(request, limits);
  if (errors.length) return { ok: false, errors };
  const attack = request.attack ? { name: request.attack.name, epsilon: request.attack.epsilon } : { ...DEFAULT_EVAL_ATTACK };
  const method = request.kind === 'adversarial-training' ? resolveMethod(request, attack.epsilon) : undefined;
  const overfittingGuard = resolveOverfittingGuard(request, method);
  return {
    ok: true,
    spec: {
      kind: request.kind,
      dataset: request.dataset,
      model: request.model,
      attack,
      epochs: request.epochs,
      batchSize: request.batchSize,
      seed: request.seed,
      learningRate: request.learningRate ?? DEFAULT_LEARNING_RATE,
      testFraction: request.testFraction ?? DEFAULT_TEST_FRACTION,
      ...(method && { method }),
      optimizer: resolveOptimizer(request),
      schedule: resolveSchedule(request),
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      ...(overfittingGuard && { overfittingGuard }),
      ...(request.dataParallel && { dataParallel: { shards: request.dataParallel.shards } }),
      ...(request.requiresGpu === true && { requiresGpu: true as const }),
    },
  };
}

function runSpecProblems(request: CreateRunRequest, limits: RunLimits): string[] {
  const { kind, schedule } = request;
  const problems: string[] = [];
  if (request.epochs > limits.maxEpochs) problems.push(`epochs must not be greater than ${limits.maxEpochs} (MAX_EPOCHS)`);
  if (request.batchSize > limits.maxBatchSize) problems.push(`batchSize must not be greater than ${limits.maxBatchSize} (MAX_BATCH_SIZE)`);
  if (kind === 'adversarial-training' && !request.attack) problems.push('attack is required for adversarial-training');
  if (request.model === IMPORTED_MODEL && !request.fromCheckpoint) {
    problems.push('model "imported" needs fromCheckpoint: a checkpoint of an import run (POST /models/import) or of a run trained from one');
  }
  if (kind === 'distillation' && !request.teacherCheckpoint)
    problems.push("teacherCheckpoint must be a UUID: a distillation run needs its teacher's checkpoint");
  if (kind === 'distillation' && request.temperature === undefined) problems.push('temperature is required for distillation');
  if (kind === 'adversarial-training' && request.temperature !== undefined)
    problems.push('temperature applies to train (a distillation teacher) and distillation runs only');
  if (request.fromCheckpoint && request.teacherCheckpoint) problems.push('fromCheckpoint and teacherCheckpoint cannot be combined');
  if (kind !== 'adversarial-training' && request.method) problems.push('method applies to adversarial-training runs only');
  if (kind !== 'adversarial-training' && request.overfittingGuard) problems.push('overfittingGuard applies to adversarial-training runs only');
  if (request.dataParallel) problems.push(...dataParallelProblems(request));
  if (request.optimizer?.name === 'adam' && (request.optimizer.momentum !== undefined || request.optimizer.nesterov !== undefined)) {
    problems.push('optimizer.momentum and optimizer.nesterov apply to the sgd optimizer only');
  }
  if (schedule?.kind === 'piecewise') {
    if (!schedule.milestones) problems.push('schedule.milestones must be an array: a piecewise schedule needs its milestones');
    if (schedule.factor === undefined) problems.push('schedule.factor must be a positive number: a piecewise schedule needs its factor');
    if (schedule.milestones?.some((m) => m >= request.epochs)) problems.push(`schedule.milestones must be below epochs (${request.epochs})`);
  }
  if (schedule?.kind === 'cyclic' && (schedule.minLearningRate ?? 0) >= (request.learningRate ?? DEFAULT_LEARNING_RATE)) {
    problems.push('schedule.minLearningRate must be below learningRate (the cyclic peak)');
  }
  return problems;
}

/** Data-parallel steps need steps that depend only on the weights: no carried perturbation, no soft labels. */
function dataParallelProblems({ kind, method, temperature, dataParallel, batchSize }: CreateRunRequest): string[] {
  const problems: string[] = [];
  if (kind === 'distillation' || temperature !== undefined) problems.push('dataParallel applies to train and adversarial-training runs without a temperature');
  if (method?.name === 'free') problems.push('dataParallel cannot split free adversarial training: its perturbation carries from step to step');
  if (dataParallel && dataParallel.shards > batchSize) problems.push(`dataParallel.shards must not be greater than batchSize (${batchSize})`);
  return problems;
}

/** FGSM at the attack's radius unless the request says otherwise; what it leaves unset takes the method's defaults when the run starts. */
function resolveMethod({ method }: CreateRunRequest, attackEpsilon: number): TrainingMethodSpec {
  const { name = 'fgsm', epsilon = attackEpsilon, ...options } = method ?? {};
  return { name, epsilon, ...options };
}

function resolveOptimizer({ optimizer }: CreateRunRequest): OptimizerSpec {
  return optimizer?.name === 'sgd'
    ? { name: 'sgd', momentum: optimizer.momentum ?? DEFAULT_SGD_MOMENTUM, nesterov: optimizer.nesterov ?? false }
    : { name: 'adam' };
}

/** Called once the request is known to be consistent (a piecewise schedule has its milestones and factor). */
function resolveSchedule({ schedule }: CreateRunRequest): LearningRateScheduleSpec {
  switch (schedule?.kind) {
    case undefined:
    case 'constant':
      return { kind: 'constant' };
    case 'piecewise': {
      const { milestones, factor } = schedule;
      if (milestones === undefined || factor === undefined) {
        throw new Error('internal: runSpecProblems let through a piecewise schedule without milestones or factor');
      }
      return { kind: 'piecewise', milestones: [...milestones].sort((a, b) => a - b), factor };
    }
    case 'cyclic':
      return { kind: 'cyclic', minLearningRate: schedule.minLearningRate ?? 0, peakAt: schedule.peakAt ?? 0.5 };
  }
}

/** The guard as asked for; on by default for fgsm-rs, whose single steps are the ones that overfit catastrophically. */
function resolveOverfittingGuard(request: CreateRunRequest, method: TrainingMethodSpec | undefined): OverfittingGuardSpec | undefined {
  const guard = request.overfittingGuard ?? (method?.name === 'fgsm-rs' ? {} : undefined);
  if (!guard) return undefined;
  return {
    heldOut: guard.heldOut ?? DEFAULT_OVERFITTING_GUARD.heldOut,
    maxDrop: guard.maxDrop ?? DEFAULT_OVERFITTING_GUARD.maxDrop,
    ...(guard.maxGap !== undefined && { maxGap: guard.maxGap }),
    onCollapse: guard.onCollapse ?? DEFAULT_OVERFITTING_GUARD.onCollapse,
  };
}
