import { z } from 'zod';
import { fieldMessage } from './issue-messages';
import { seedSchema } from './common-fields.schema';

/**
 * What an evaluation puts in front of a model and behind it: preprocessing steps and a logits
 * squash (the defense), and detectors. Each has a request shape (one object per item, whose
 * fields resolveEvaluationSpec checks against its kind) and a stored shape (a union by kind,
 * every option resolved), built from the same field declarations.
 */

const stepFields = {
  bits: z.int().min(1).max(8).meta({ description: 'bit-depth: bits per pixel, 1..8' }),
  size: z.int().min(1).max(15).meta({ description: 'median-filter: window size, 1..15' }),
  quality: z.int().min(1).max(100).meta({ description: 'jpeg: quality, 1..100' }),
  sigma: z.number().min(0).max(1).meta({ description: 'gaussian-noise: σ in [0,1] pixel units' }),
  minSize: z.int().min(1).max(512).meta({ description: 'random-resize-pad: smallest and largest resized side' }),
  maxSize: z.int().min(1).max(512),
  levels: z.int().min(2).max(256).meta({ description: 'quantise-inputs (gradient masking): levels, 2..256' }),
  seed: seedSchema.meta({ description: 'random steps: seed of their draws (default the evaluation seed)' }),
};

/** A preprocessing step in front of the model (see @bulwark/defenses), as stored: every field it is rebuilt from. */
export const preprocessingStepSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('bit-depth'), bits: stepFields.bits }),
  z.strictObject({ kind: z.literal('median-filter'), size: stepFields.size }),
  z.strictObject({ kind: z.literal('jpeg'), quality: stepFields.quality }),
  z.strictObject({ kind: z.literal('gaussian-noise'), sigma: stepFields.sigma, seed: stepFields.seed }),
  /** `padSize`: the engine's canvas side (default maxSize); never set through the API. */
  z.strictObject({
    kind: z.literal('random-resize-pad'),
    minSize: stepFields.minSize,
    maxSize: stepFields.maxSize,
    padSize: z.int().min(1).max(512).optional(),
    seed: stepFields.seed,
  }),
  z.strictObject({ kind: z.literal('quantise-inputs'), levels: stepFields.levels }),
]);
export type PreprocessingStep = z.infer<typeof preprocessingStepSchema>;
export type PreprocessingKind = PreprocessingStep['kind'];

export const PREPROCESSING_KINDS = preprocessingStepSchema.options.map((option) => option.shape.kind.value) as [PreprocessingKind, ...PreprocessingKind[]];

/** Steps that draw randomness, and so take a seed. */
export const RANDOM_PREPROCESSING_KINDS: readonly PreprocessingKind[] = ['gaussian-noise', 'random-resize-pad'];

/** The fields a request must give for each kind (the stored shape's, less what the API fills in). */
export const PREPROCESSING_STEP_FIELDS = Object.fromEntries(
  preprocessingStepSchema.options.map(({ shape }) => [
    shape.kind.value,
    Object.entries<z.ZodType>(shape)
      // A field that accepts undefined is optional (what zod's deprecated isOptional() checks).
      .filter(([field, schema]) => field !== 'kind' && field !== 'seed' && !schema.safeParse(undefined).success)
      .map(([field]) => field),
  ]),
) as Record<PreprocessingKind, string[]>;

/** One preprocessing step in a request; which fields it needs depends on its kind. */
export const preprocessingStepRequestSchema = z.strictObject({
  kind: z.enum(PREPROCESSING_KINDS),
  bits: stepFields.bits.optional(),
  size: stepFields.size.optional(),
  quality: stepFields.quality.optional(),
  sigma: stepFields.sigma.optional(),
  minSize: stepFields.minSize.optional(),
  maxSize: stepFields.maxSize.optional(),
  levels: stepFields.levels.optional(),
  seed: stepFields.seed.optional(),
});
export type PreprocessingStepRequest = z.infer<typeof preprocessingStepRequestSchema>;

const LOGITS_SQUASH_KINDS = ['saturate-logits', 'softmax-output'] as const;
const saturateTemperature = z.number().positive().max(0.999);
/**
 * A squash of the model's logits. saturate-logits: logits / T, T < 1 (gradient masking, for
 * demonstration). softmax-output: attacks read the probabilities, as distilled models were
 * first evaluated; its temperature is a distilled model's T, by which the adaptive view
 * divides the logits (only the API sets it).
 */
export const logitsSquashSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('saturate-logits'), temperature: saturateTemperature }),
  z.strictObject({ kind: z.literal('softmax-output'), temperature: z.number().min(1).max(100).optional() }),
]);
export type LogitsSquashSpec = z.infer<typeof logitsSquashSpecSchema>;

export const logitsSquashRequestSchema = z.strictObject({
  kind: z.enum(LOGITS_SQUASH_KINDS).meta({
    description: 'saturate-logits: logits / T (masking); softmax-output: attacks read the probabilities (how distilled models were first evaluated)',
  }),
  temperature: saturateTemperature.optional().meta({ description: 'saturate-logits only: in (0, 1)' }),
});

/**
 * The defense an evaluation attacks: preprocessing steps, then the model, then optionally a
 * squash of its logits. Evaluated twice: naively (attacks see the deployed model) and
 * adaptively (BPDA / EOT / un-squashed logits).
 */
export const defenseSpecSchema = z.strictObject({
  /** Applied in order before the classifier. */
  preprocessing: z.array(preprocessingStepSchema),
  logits: logitsSquashSpecSchema.optional(),
});
export type DefenseSpec = z.infer<typeof defenseSpecSchema>;

export const defenseRequestSchema = z.strictObject({
  preprocessing: z.array(preprocessingStepRequestSchema).max(5),
  logits: logitsSquashRequestSchema.optional(),
});
export type DefenseRequest = z.infer<typeof defenseRequestSchema>;

/** Detectors an evaluation can fit in front of its stack (see @bulwark/defenses). */
export const DETECTOR_KINDS = ['confidence', 'feature-squeezing', 'mahalanobis'] as const;
export const detectorKindSchema = z.enum(DETECTOR_KINDS);
export type DetectorKind = z.infer<typeof detectorKindSchema>;

export const DEFAULT_DETECTOR_FPR = 0.05;
/** Xu et al. (2018)'s best MNIST squeezers: the engine's default too. */
export const DEFAULT_SQUEEZERS: readonly PreprocessingStep[] = [
  { kind: 'bit-depth', bits: 1 },
  { kind: 'median-filter', size: 2 },
];
/** The Mahalanobis ridge, relative to the mean feature variance: the engine's default too. */
export const DEFAULT_MAHALANOBIS_SHRINKAGE = 0.01;
export const DEFAULT_VALIDATION_EXAMPLES = 1000;

const fpr = z.number().positive().max(0.5);
/**
 * Layer names are matched against the model's layers, never used as paths, but are held to what
 * Keras and TensorFlow.js name layers anyway: no '/', and no leading '.', so nothing like
 * `../../etc/passwd` is stored to fail on a worker hours later.
 */
const featureLayer = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, fieldMessage('must be a layer name (1-128 letters, digits, _ . -; no leading .)'));
const shrinkage = z.number().min(0).max(1);

/**
 * A detector as stored with its evaluation, every option resolved. Inputs scoring above a
 * threshold set for `fpr` false positives on clean validation data are rejected.
 * feature-squeezing: Xu et al. (2018), deterministic squeezers only. mahalanobis: Lee et al.
 * (2018) at one layer; `featureLayer` absent: the input of the logits layer.
 */
export const detectorSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('confidence'), fpr }),
  z.strictObject({ kind: z.literal('feature-squeezing'), fpr, squeezers: z.array(preprocessingStepSchema).min(1) }),
  z.strictObject({ kind: z.literal('mahalanobis'), fpr, featureLayer: featureLayer.optional(), shrinkage }),
]);
export type DetectorRunSpec = z.infer<typeof detectorSpecSchema>;

/** The options each kind takes besides kind and fpr (its stored shape's). */
export const DETECTOR_FIELDS = Object.fromEntries(
  detectorSpecSchema.options.map((option) => [option.shape.kind.value, Object.keys(option.shape).filter((field) => field !== 'kind' && field !== 'fpr')]),
) as Record<DetectorKind, string[]>;

/** One detector in a request; which options it takes depends on its kind. */
export const detectorRequestSchema = z.strictObject({
  kind: detectorKindSchema.meta({
    description:
      'confidence: 1 − max softmax (Hendrycks & Gimpel); feature-squeezing: L1 change of the softmax under squeezers (Xu et al.); ' +
      'mahalanobis: distance of penultimate features to class means (Lee et al.)',
  }),
  fpr: fpr.optional().meta({ default: DEFAULT_DETECTOR_FPR, description: 'Target false-positive rate on the clean validation examples, in (0, 0.5]' }),
  squeezers: z
    .array(preprocessingStepRequestSchema)
    .min(1)
    .max(5)
    .optional()
    .meta({ description: 'feature-squeezing only: deterministic steps (default 1-bit depth and a 2×2 median filter)' }),
  featureLayer: featureLayer
    .optional()
    .meta({ description: 'mahalanobis only: the layer whose output is the feature vector (default the input of the logits layer)' }),
  shrinkage: shrinkage.optional().meta({
    default: DEFAULT_MAHALANOBIS_SHRINKAGE,
    description: 'mahalanobis only: ridge added to the feature covariance, relative to its mean variance, in [0, 1]',
  }),
});
export type DetectorRequest = z.infer<typeof detectorRequestSchema>;

const awareFields = {
  steps: z.int().min(1).max(1000),
  stepSize: z.number().positive().max(10),
  /** κ: the misclassification margin kept before the step goes to evading the detector. */
  confidence: z.number().min(0).max(100),
  /** λ: the detector term's weight, in units of its clean score spread. */
  detectorWeight: z.number().positive().max(100),
};

/**
 * The adaptive attack on classifier and detector together (C&W's combined loss switched per
 * example, as in Bryniarski et al. 2022), run once per detector. `stepSize` absent: 2.5·ε/steps at each ε.
 */
export const detectorAwareAttackSpecSchema = z.strictObject({
  steps: awareFields.steps,
  stepSize: awareFields.stepSize.optional(),
  confidence: awareFields.confidence,
  detectorWeight: awareFields.detectorWeight,
});
export type DetectorAwareAttackSpec = z.infer<typeof detectorAwareAttackSpecSchema>;

export const DEFAULT_DETECTOR_AWARE: DetectorAwareAttackSpec = { steps: 50, confidence: 1, detectorWeight: 1 };

/** The detector-aware PGD run against each detector (margin, then margin and detector score together). */
export const detectorAwareRequestSchema = z.strictObject({
  steps: awareFields.steps.optional().meta({ default: DEFAULT_DETECTOR_AWARE.steps }),
  stepSize: awareFields.stepSize.optional().meta({ description: 'Default 2.5·ε/steps at each ε' }),
  confidence: awareFields.confidence
    .optional()
    .meta({ default: DEFAULT_DETECTOR_AWARE.confidence, description: 'κ: margin kept once misclassified, before the step goes to the detector' }),
  detectorWeight: awareFields.detectorWeight
    .optional()
    .meta({ default: DEFAULT_DETECTOR_AWARE.detectorWeight, description: 'λ: weight of the detector term, in units of its clean score spread' }),
});
