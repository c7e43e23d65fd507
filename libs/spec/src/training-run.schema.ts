import { z } from 'zod';
import { attackSpecSchema, requiresGpuRequestSchema, seedSchema, testFractionSchema, uuidSchema } from './common-fields.schema';
import { MAX_INT4 } from './request-limits';
import { datasetRefSchema, IMPORTED_MODEL, runModelNameSchema, trainingRunKindSchema } from './vocabulary';

/**
 * A training run (train, adversarial-training, distillation): the body of POST /runs, and the
 * resolved spec stored with the run, every default filled in (resolveRunSpec turns one into the
 * other). Fields are declared once and shared by both shapes.
 */

const unitInterval = z.number().min(0).max(1);
const positiveUpToOne = z.number().positive().max(1);

/** Adversarial-training methods (see @bulwark/training's methods for the papers). */
export const TRAINING_METHODS = ['fgsm', 'fgsm-rs', 'pgd', 'trades', 'free'] as const;
export type TrainingMethodName = (typeof TRAINING_METHODS)[number];

/** How adversarial examples are made and weighted during training; unset fields take the method's defaults. */
export const trainingMethodRequestSchema = z.strictObject({
  name: z.enum(TRAINING_METHODS).meta({ description: 'fgsm (Goodfellow), fgsm-rs (Wong et al. 2020), pgd (Madry), trades (Zhang), free (Shafahi)' }),
  epsilon: positiveUpToOne.optional().meta({ description: 'L∞ training radius in (0, 1]; default attack.epsilon' }),
  stepSize: positiveUpToOne.optional(),
  steps: z.int().min(1).max(100).optional(),
  randomStart: z.boolean().optional(),
  beta: z.number().min(0).max(100).optional().meta({ description: 'TRADES β' }),
  replays: z.int().min(1).max(32).optional().meta({ description: 'free adversarial training: m replays per minibatch' }),
  adversarialWeight: unitInterval.optional().meta({ description: 'w in (1 − w)·CE(x) + w·CE(x′)' }),
  epsilonWarmupEpochs: z.int().min(1).max(1000).optional().meta({ description: 'Ramp ε linearly over this many epochs' }),
});
/** As stored: the training radius is always resolved (attack.epsilon when the request left it out). */
export const trainingMethodSpecSchema = trainingMethodRequestSchema.required({ epsilon: true });
export type TrainingMethodSpec = z.infer<typeof trainingMethodSpecSchema>;

const OPTIMIZER_NAMES = ['adam', 'sgd'] as const;
const momentum = z.number().min(0).max(0.999);
export const optimizerRequestSchema = z.strictObject({
  name: z.enum(OPTIMIZER_NAMES),
  momentum: momentum.optional().meta({ description: 'SGD momentum (default 0.9)' }),
  nesterov: z.boolean().optional(),
});
export const optimizerSpecSchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('adam') }),
  z.strictObject({ name: z.literal('sgd'), momentum, nesterov: z.boolean() }),
]);
export type OptimizerSpec = z.infer<typeof optimizerSpecSchema>;
export const DEFAULT_SGD_MOMENTUM = 0.9;

const SCHEDULE_KINDS = ['constant', 'piecewise', 'cyclic'] as const;
const milestones = z.array(z.int().min(1).max(MAX_INT4)).max(10);
const factor = positiveUpToOne;
const minLearningRate = unitInterval;
const peakAt = unitInterval;
/** Learning rate per step, from `learningRate` (the base, or the peak of a cyclic schedule). Which fields apply depends on the kind. */
export const scheduleRequestSchema = z.strictObject({
  kind: z.enum(SCHEDULE_KINDS),
  milestones: milestones.optional().meta({ description: 'piecewise: epochs after which the rate is multiplied by factor' }),
  factor: factor.optional(),
  minLearningRate: minLearningRate.optional().meta({ description: 'cyclic: the rate at both ends (default 0); learningRate is the peak' }),
  peakAt: peakAt.optional().meta({ description: 'cyclic: where the peak falls, as a fraction of the run (default 0.5)' }),
});
export const scheduleSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({ kind: z.literal('piecewise'), milestones, factor }),
  z.strictObject({ kind: z.literal('cyclic'), minLearningRate, peakAt }),
]);
export type LearningRateScheduleSpec = z.infer<typeof scheduleSpecSchema>;

/** Catastrophic-overfitting guard (Wong et al. 2020): PGD and FGSM accuracy on held-out training examples after every epoch. */
export const overfittingGuardRequestSchema = z.strictObject({
  heldOut: z.int().min(10).max(10000).optional().meta({ description: 'Training examples held out to measure PGD accuracy each epoch (default 500)' }),
  maxDrop: positiveUpToOne.optional().meta({ description: 'A drop in PGD accuracy larger than this below the best epoch is a collapse (default 0.2)' }),
  maxGap: positiveUpToOne.optional().meta({
    description:
      'When set, FGSM accuracy more than this above PGD accuracy on the held-out examples is a collapse, even in the first epoch ' +
      '(default: off; early in large-ε training the gap can be wide and close again)',
  }),
  onCollapse: z.enum(['stop', 'continue']).optional(),
});
/** As stored; `maxGap` stays absent unless asked for (and in runs stored before it existed). */
export const overfittingGuardSpecSchema = overfittingGuardRequestSchema.required({ heldOut: true, maxDrop: true, onCollapse: true });
export type OverfittingGuardSpec = z.infer<typeof overfittingGuardSpecSchema>;
export const DEFAULT_OVERFITTING_GUARD: Omit<OverfittingGuardSpec, 'maxGap'> = { heldOut: 500, maxDrop: 0.2, onCollapse: 'stop' };

/** Most shards a minibatch may be split into: beyond this the exchange, not the compute, dominates a step. */
export const MAX_DATA_PARALLEL_SHARDS = 64;

/**
 * Data-parallel training: every minibatch split into `shards` fixed shards that any worker of
 * the gradients queue crafts and differentiates against the step's weights. The run's result
 * depends on `shards`, never on how many workers there are.
 */
export const dataParallelSchema = z.strictObject({
  shards: z
    .int()
    .min(1)
    .max(MAX_DATA_PARALLEL_SHARDS)
    .meta({ description: `Shards per minibatch (1..${MAX_DATA_PARALLEL_SHARDS}); at most batchSize. Fix it to reproduce a run bit for bit.`, example: 4 }),
});
export type DataParallelSpec = z.infer<typeof dataParallelSchema>;

// MAX_EPOCHS and MAX_BATCH_SIZE bound both where the run is resolved; these keep any number Postgres could not hold out of the request.
const epochs = z.int().min(1).max(MAX_INT4);
const batchSize = z.int().min(1).max(MAX_INT4);
const learningRate = positiveUpToOne;
const temperature = z.number().min(1).max(100);

/**
 * Body of POST /runs. Limits that depend on the deployment (MAX_EPOCHS, MAX_BATCH_SIZE) and
 * rules between fields are resolveRunSpec's; whether checkpoints exist is the API's.
 */
export const createRunRequestSchema = z.strictObject({
  kind: trainingRunKindSchema.meta({ example: 'adversarial-training', description: 'distillation needs teacherCheckpoint and temperature' }),
  dataset: datasetRefSchema.meta({ example: 'mnist' }),
  model: runModelNameSchema.meta({ example: 'mlp', description: '"imported": the architecture of an imported model, with fromCheckpoint a checkpoint of it' }),
  attack: attackSpecSchema.optional().meta({
    description:
      'Required for adversarial-training (the attack crafted against each batch). ' +
      'For every run it is also the attack measured on the test split after each epoch; train runs default to FGSM ε=0.1.',
  }),
  epochs: epochs.meta({ example: 2 }),
  batchSize: batchSize.meta({ example: 64 }),
  seed: seedSchema.meta({ example: 1 }),
  learningRate: learningRate.optional().meta({ description: 'Adam learning rate, in (0, 1]', example: 0.001 }),
  method: trainingMethodRequestSchema
    .optional()
    .meta({ description: 'adversarial-training only: how adversarial examples are made (default FGSM at attack.epsilon)' }),
  optimizer: optimizerRequestSchema.optional(),
  schedule: scheduleRequestSchema.optional(),
  overfittingGuard: overfittingGuardRequestSchema.optional().meta({ description: 'Catastrophic-overfitting guard; on by default for fgsm-rs' }),
  temperature: temperature
    .optional()
    .meta({ description: 'train: learn softmax(logits / T) (a distillation teacher); distillation: the temperature of the soft labels. 1..100' }),
  teacherCheckpoint: uuidSchema.optional().meta({ description: "distillation: the teacher checkpoint (same dataset); it becomes the run's parent" }),
  fromCheckpoint: uuidSchema.optional().meta({
    description:
      'Start from this checkpoint (same model and dataset; for model "imported", a checkpoint of an import run or of a run trained from one): ' +
      'fine-tuning, with the checkpoint as parent',
  }),
  testFraction: testFractionSchema.optional().meta({ description: 'Fraction of the dataset held out as the seeded test split', example: 0.2 }),
  dataParallel: dataParallelSchema.optional().meta({
    description: 'train and adversarial-training (not free, not with a temperature): spread every step over the workers of the gradients queue',
  }),
  requiresGpu: requiresGpuRequestSchema.optional(),
});
export type CreateRunRequest = z.infer<typeof createRunRequestSchema>;

/** Where an imported architecture is stored: the import run and its checkpoint (topology and imported weights). */
export const importedModelRefSchema = z.strictObject({ runId: uuidSchema, checkpointId: uuidSchema });
export type ImportedModelRef = z.infer<typeof importedModelRefSchema>;

/**
 * The resolved, stored configuration of a training run. Runs stored before methods,
 * optimizers, schedules and the guard existed lack those fields; the worker runs them as
 * they ran then (FGSM at attack.epsilon, Adam, a constant rate, no guard).
 */
export const trainingRunSpecSchema = z
  .strictObject({
    kind: trainingRunKindSchema,
    dataset: datasetRefSchema,
    model: runModelNameSchema,
    /** Present exactly when model is 'imported': the import whose topology the run trains. */
    importedModel: importedModelRefSchema.optional(),
    attack: attackSpecSchema,
    epochs,
    batchSize,
    seed: seedSchema,
    learningRate,
    testFraction: testFractionSchema,
    /** Adversarial training only. */
    method: trainingMethodSpecSchema.optional(),
    optimizer: optimizerSpecSchema.optional(),
    schedule: scheduleSpecSchema.optional(),
    overfittingGuard: overfittingGuardSpecSchema.optional(),
    /** Start from this checkpoint's weights (fine-tuning); the run's parent in the lineage. */
    initialCheckpointId: uuidSchema.optional(),
    /** Softmax temperature: a `train` run learns softmax(logits / T) (a distillation teacher); a `distillation` run distils at T. */
    temperature: temperature.optional(),
    /** Distillation: the teacher's checkpoint (the run's parent in the lineage). */
    teacherCheckpointId: uuidSchema.optional(),
    /** Absent: every step in the training job's own process. */
    dataParallel: dataParallelSchema.optional(),
    /** Present (true) only on runs that must run on a GPU worker: absent is false. */
    requiresGpu: z.literal(true).optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.model === IMPORTED_MODEL) !== (spec.importedModel !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['importedModel'],
        message: 'importedModel is present exactly when model is "imported" (the import run and checkpoint of its architecture)',
      });
    }
    if (spec.kind === 'distillation' && (spec.temperature === undefined || spec.teacherCheckpointId === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a distillation run needs a temperature and a teacher checkpoint' });
    }
  });
export type TrainingRunSpec = z.infer<typeof trainingRunSpecSchema>;

export const DEFAULT_LEARNING_RATE = 1e-3;
