import { z } from 'zod';
import { fieldMessage, fieldPath } from './issue-messages';
import { requiresGpuRequestSchema, seedSchema, testFractionSchema, uuidSchema } from './common-fields.schema';
import {
  DEFAULT_VALIDATION_EXAMPLES,
  defenseRequestSchema,
  defenseSpecSchema,
  detectorAwareAttackSpecSchema,
  detectorAwareRequestSchema,
  detectorKindSchema,
  detectorRequestSchema,
  detectorSpecSchema,
} from './defense.schema';
import { MAX_INPUT_LENGTH, MAX_INT4 } from './request-limits';
import { datasetRefSchema, runModelNameSchema } from './vocabulary';

/** An evaluation run: the body of POST /evaluations, and the resolved spec stored with the run. */

/** Threat models an evaluation can measure. */
export const NORMS = ['linf', 'l2'] as const;
export const normSchema = z.enum(NORMS);
export type Norm = z.infer<typeof normSchema>;
/** The largest radius of each norm in [0,1] input space. */
export const MAX_EPSILON: Readonly<Record<Norm, number>> = { linf: 1, l2: 10 };

/**
 * Attacks an evaluation can run, each measured on its own and folded into the per-example
 * worst case. 'standard' expands to APGD-CE → APGD-T → Square (each on the still-robust examples).
 */
export const EVALUATION_ATTACKS = ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'] as const;
export const evaluationAttackSchema = z.enum(EVALUATION_ATTACKS);
export type EvaluationAttackName = z.infer<typeof evaluationAttackSchema>;

export const EVALUATION_SUITES = ['standard', 'quick', 'custom'] as const;
export const evaluationSuiteSchema = z.enum(EVALUATION_SUITES);
export type EvaluationSuite = z.infer<typeof evaluationSuiteSchema>;

export const SUITE_ATTACKS: Readonly<Record<Exclude<EvaluationSuite, 'custom'>, readonly EvaluationAttackName[]>> = {
  // FGSM and PGD run beside the AutoAttack-style stages so the validity checks can compare them.
  standard: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
  quick: ['fgsm', 'pgd'],
};

/** How a curve point was measured: the bare model, or a defense attacked naively or adaptively. */
export const EVALUATION_VIEWS = ['direct', 'naive', 'adaptive'] as const;
export type EvaluationView = (typeof EVALUATION_VIEWS)[number];

const steps = z.int().min(1).max(1000);
const restarts = z.int().min(1).max(20);

/** Every hyperparameter of every attack, resolved and stored with the evaluation. */
export const evaluationAttackParamsSchema = z.strictObject({
  pgd: z.strictObject({
    steps,
    stepSizeFactor: z.number().min(0.1).max(100).meta({ description: 'Step size as a multiple of ε / steps (2.5 as in Madry et al.)' }),
    restarts,
    loss: z.enum(['ce', 'margin']),
  }),
  apgd: z.strictObject({ steps, restarts }),
  apgdTargeted: z.strictObject({ steps, targetClasses: z.int().min(1).max(9) }),
  square: z.strictObject({ queries: z.int().min(1).max(20000), pInit: z.number().min(0.01).max(1) }),
});
export type EvaluationAttackParams = z.infer<typeof evaluationAttackParamsSchema>;

/** In a request every parameter is an override of the default. */
const { shape: params } = evaluationAttackParamsSchema;
export const evaluationAttackParamsRequestSchema = z.strictObject({
  pgd: params.pgd.partial().optional(),
  apgd: params.apgd.partial().optional(),
  apgdTargeted: params.apgdTargeted.partial().optional(),
  square: params.square.partial().optional(),
});

export const DEFAULT_EVALUATION_PARAMS: EvaluationAttackParams = {
  pgd: { steps: 20, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' },
  apgd: { steps: 100, restarts: 1 },
  apgdTargeted: { steps: 100, targetClasses: 3 },
  square: { queries: 1000, pInit: 0.8 },
};

export const DEFAULT_NORM: Norm = 'linf';
export const DEFAULT_SUITE: EvaluationSuite = 'standard';
export const DEFAULT_EVALUATION_EXAMPLES = 1000;
export const DEFAULT_EVALUATION_SEED = 0;
export const DEFAULT_GALLERY_PER_EPSILON = 4;
/**
 * Examples an evaluation attacks per batch. Fixed: batch seeds are seed + the batch's first
 * example, so another batch size would change every stored result.
 */
export const EVALUATION_BATCH_SIZE = 256;
/** Examples per shard (one job any evaluation worker may take); a multiple of the batch size. */
export const DEFAULT_SHARD_SIZE = EVALUATION_BATCH_SIZE;

const epsilon = z.number().min(0).max(MAX_EPSILON.l2);
const examples = z.int().min(1).max(10000);
const galleryPerEpsilon = z.int().min(0).max(32);
const validationExamples = z.int().min(10).max(10000);
const shardSize = z
  .int()
  .min(EVALUATION_BATCH_SIZE)
  .max(40 * EVALUATION_BATCH_SIZE)
  .multipleOf(EVALUATION_BATCH_SIZE);

const unique = (values: readonly unknown[]) => new Set(values).size === values.length;
const uniqueMessage = { error: (issue: z.core.$ZodRawIssue) => `All ${fieldPath(issue.path ?? [])}'s elements must be unique` };

/** Body of POST /evaluations: which model, which threat model, which attacks, on how many examples. */
export const createEvaluationRequestSchema = z.strictObject({
  runId: uuidSchema.meta({ description: 'The training run whose checkpoint is evaluated' }),
  checkpointEpoch: z.int().min(0).max(MAX_INT4).optional().meta({ description: 'Epoch of the checkpoint (default: the newest)' }),
  norm: normSchema.optional().meta({ default: DEFAULT_NORM }),
  epsilons: z
    .array(epsilon)
    .min(1)
    .max(12)
    .refine(unique, uniqueMessage)
    .meta({ example: [0, 0.05, 0.1, 0.2, 0.3], description: 'Radii in [0,1] input space: each in [0, 1] for linf, [0, 10] for l2' }),
  suite: evaluationSuiteSchema
    .optional()
    .meta({ default: DEFAULT_SUITE, description: 'standard: FGSM, PGD, APGD-CE, APGD-T, Square; quick: FGSM, PGD; custom: the attacks listed' }),
  attacks: z
    .array(evaluationAttackSchema)
    .min(1)
    .max(EVALUATION_ATTACKS.length)
    .refine(unique, uniqueMessage)
    .optional()
    .meta({ description: 'Only with suite "custom"' }),
  params: evaluationAttackParamsRequestSchema.optional(),
  examples: examples
    .optional()
    .meta({ default: DEFAULT_EVALUATION_EXAMPLES, description: 'n: a seeded subset of the test split of this size (all of it if smaller)' }),
  seed: seedSchema.optional().meta({ default: DEFAULT_EVALUATION_SEED }),
  defense: defenseRequestSchema.optional().meta({ description: 'Evaluate the model behind this defense, naively and adaptively (BPDA / EOT)' }),
  galleryPerEpsilon: galleryPerEpsilon
    .optional()
    .meta({ default: DEFAULT_GALLERY_PER_EPSILON, description: 'Adversarial examples stored per ε for the gallery' }),
  shardSize: shardSize.optional().meta({
    default: DEFAULT_SHARD_SIZE,
    description:
      `Examples per shard, a multiple of ${EVALUATION_BATCH_SIZE}: each shard is a job any evaluation worker may take. ` +
      'The result is the same, bit for bit, whatever the shard size and the number of workers',
  }),
  detectors: z
    .array(detectorRequestSchema)
    .min(1)
    .max(3)
    .optional()
    .meta({
      description:
        'Detectors behind the defense (or the bare model), each kind at most once: at every ε > 0, detection rate at the fixed-FPR threshold, ' +
        "ROC AUC and the stack's robust accuracy per attack, plus a detector-aware PGD per detector",
    }),
  validationExamples: validationExamples.optional().meta({
    default: DEFAULT_VALIDATION_EXAMPLES,
    description: 'With detectors: clean examples their thresholds are set on, a seeded subset of the TRAINING split',
  }),
  detectorAware: detectorAwareRequestSchema.optional().meta({ description: "With detectors: the detector-aware attack's settings" }),
  requiresGpu: requiresGpuRequestSchema.optional(),
});
export type CreateEvaluationRequest = z.infer<typeof createEvaluationRequestSchema>;

export const evaluationRunSpecSchema = z
  .strictObject({
    kind: z.literal('evaluation'),
    /** The training run whose checkpoint is evaluated, and that checkpoint. */
    sourceRunId: uuidSchema,
    checkpointId: uuidSchema,
    checkpointEpoch: z.int().min(0),
    /** Copied from the source run, so the evaluation rebuilds the same model and the same test split. */
    dataset: datasetRefSchema,
    /** 'imported': the worker rebuilds the source run's imported topology. */
    model: runModelNameSchema,
    datasetSeed: seedSchema,
    testFraction: testFractionSchema,
    norm: normSchema,
    /** Ascending, each at most the norm's MAX_EPSILON. */
    epsilons: z.array(epsilon).min(1),
    suite: evaluationSuiteSchema,
    /** In the order they run; the suite's worst case is over all of them. */
    attacks: z.array(evaluationAttackSchema).min(1),
    params: evaluationAttackParamsSchema,
    /** n: a seeded subset of the test split of this size (the same subset for the same seed and n). */
    examples,
    seed: seedSchema,
    /** Adversarial examples stored per ε for the gallery. */
    galleryPerEpsilon,
    /** Examples per shard job; specs stored before sharding ran as shards of the default size. */
    shardSize: shardSize.default(DEFAULT_SHARD_SIZE),
    /** A defense in front of the model; absent: the model itself is evaluated ('direct'). */
    defense: defenseSpecSchema.optional(),
    /**
     * Detectors behind the defense (or the bare model), each evaluated at every ε > 0 against
     * the evaluation's attacks and a detector-aware attack, on the same test subset as the curve.
     * The next two fields are present exactly when this one is.
     */
    detectors: z.array(detectorSpecSchema).min(1).optional(),
    /** Clean examples the detector thresholds are fitted on: a seeded subset (seed `seed`) of the TRAINING split, never the test split. */
    validationExamples: validationExamples.optional(),
    detectorAware: detectorAwareAttackSpecSchema.optional(),
    /** Present (true) only on evaluations that must run on a GPU worker: absent is false. */
    requiresGpu: z.literal(true).optional(),
  })
  .superRefine((spec, ctx) => {
    const present = [spec.detectors, spec.validationExamples, spec.detectorAware].filter((field) => field !== undefined).length;
    if (present !== 0 && present !== 3)
      ctx.addIssue({ code: 'custom', path: [], message: 'detectors, validationExamples and detectorAware are stored together or not at all' });
  });
export type EvaluationRunSpec = z.infer<typeof evaluationRunSpecSchema>;

export const listEvaluationsQuerySchema = z.strictObject({
  runId: uuidSchema.optional().meta({ description: 'Only evaluations of this training run (model)' }),
});

/** Most inputs one predict request may carry (64 CIFAR-10 images are about 200k numbers). */
export const MAX_PREDICT_INPUTS = 64;

/** The start of a value as JSON; JSON.stringify, typed as returning a string, gives undefined for undefined. */
function preview(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? 'undefined' : json.slice(0, 32);
}

/** A pixel names its place and value, since a batch holds up to 200,000 of them. */
const pixel = z
  .number({ error: (issue) => `${fieldPath(issue.path ?? [])} must be a number in [0, 1], got ${preview(issue.input)}` })
  .min(0)
  .max(1);

/** Body of POST /evaluations/:id/predict. */
export const predictRequestSchema = z.strictObject({
  inputs: z
    .array(z.array(pixel, fieldMessage('must be an array of numbers (a flattened image)')).max(MAX_INPUT_LENGTH))
    .min(1)
    .max(MAX_PREDICT_INPUTS)
    .meta({
      description:
        `1..${MAX_PREDICT_INPUTS} images of the evaluated dataset, ` + 'each flattened to H·W·C numbers in [0,1] (row-major, channels last: 784 for MNIST)',
    }),
  detector: detectorKindSchema.optional().meta({ description: "Which of the evaluation's detectors guards the stack (default its first)" }),
});
export type PredictRequest = z.infer<typeof predictRequestSchema>;
