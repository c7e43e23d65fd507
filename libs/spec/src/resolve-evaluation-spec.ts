import {
  DEFAULT_DETECTOR_AWARE,
  DEFAULT_DETECTOR_FPR,
  DEFAULT_MAHALANOBIS_SHRINKAGE,
  DEFAULT_SQUEEZERS,
  DEFAULT_VALIDATION_EXAMPLES,
  DETECTOR_FIELDS,
  DefenseRequest,
  DefenseSpec,
  DetectorRequest,
  DetectorRunSpec,
  LogitsSquashSpec,
  PREPROCESSING_STEP_FIELDS,
  PreprocessingStep,
  PreprocessingStepRequest,
  RANDOM_PREPROCESSING_KINDS,
  preprocessingStepSchema,
} from './defense.schema';
import {
  CreateEvaluationRequest,
  DEFAULT_EVALUATION_EXAMPLES,
  DEFAULT_EVALUATION_PARAMS,
  DEFAULT_EVALUATION_SEED,
  DEFAULT_GALLERY_PER_EPSILON,
  DEFAULT_NORM,
  DEFAULT_SHARD_SIZE,
  DEFAULT_SUITE,
  EvaluationAttackName,
  EvaluationAttackParams,
  EvaluationRunSpec,
  EvaluationSuite,
  MAX_EPSILON,
  Norm,
  SUITE_ATTACKS,
} from './evaluation-run.schema';
import type { ModelRunSpec, Resolution } from './run-spec';

/** The model an evaluation measures: its run's stored spec and the checkpoint chosen (found by the caller, in the database). */
export interface EvaluationSource {
  spec: ModelRunSpec;
  checkpoint: { id: string; runId: string; epoch: number };
}

/**
 * A POST /evaluations body (already through createEvaluationRequestSchema) as the spec to
 * store: the rules between fields checked, every hyperparameter resolved, the model and its
 * test split copied from the source run. Keys come in a fixed order: the spec's hash
 * identifies a request.
 */
export function resolveEvaluationSpec(request: CreateEvaluationRequest, { spec: source, checkpoint }: EvaluationSource): Resolution<EvaluationRunSpec> {
  const problems: string[] = [];
  const norm = request.norm ?? DEFAULT_NORM;
  const tooLarge = request.epsilons.find((e) => e > MAX_EPSILON[norm]);
  if (tooLarge !== undefined) problems.push(`epsilons: ${tooLarge} exceeds ${MAX_EPSILON[norm]}, the largest ${norm} radius in [0,1] input space`);
  const suite = request.suite ?? DEFAULT_SUITE;
  const attacks = resolveAttacks(request.attacks, suite, norm, problems);
  const seed = request.seed ?? DEFAULT_EVALUATION_SEED;
  const defense = request.defense ? resolveDefense(request.defense, seed, problems) : distilledModelView(source);
  const detection = resolveDetection(request, seed, problems);
  if (problems.length) return { ok: false, errors: problems };

  const defaults = defaultParams(source);
  const overrides = request.params ?? {};
  return {
    ok: true,
    spec: {
      kind: 'evaluation',
      sourceRunId: checkpoint.runId,
      checkpointId: checkpoint.id,
      checkpointEpoch: checkpoint.epoch,
      dataset: source.dataset,
      model: source.model,
      datasetSeed: source.seed,
      testFraction: source.testFraction,
      norm,
      epsilons: [...request.epsilons].sort((a, b) => a - b),
      suite,
      attacks,
      params: {
        pgd: { ...defaults.pgd, ...overrides.pgd },
        apgd: { ...defaults.apgd, ...overrides.apgd },
        apgdTargeted: { ...defaults.apgdTargeted, ...overrides.apgdTargeted },
        square: { ...defaults.square, ...overrides.square },
      },
      examples: request.examples ?? DEFAULT_EVALUATION_EXAMPLES,
      seed,
      galleryPerEpsilon: request.galleryPerEpsilon ?? DEFAULT_GALLERY_PER_EPSILON,
      shardSize: request.shardSize ?? DEFAULT_SHARD_SIZE,
      ...(defense && { defense }),
      ...detection,
      ...(request.requiresGpu === true && { requiresGpu: true as const }),
    },
  };
}

/** A custom suite lists its attacks; the others fix them (Square, an L∞ attack, drops out under L2). */
function resolveAttacks(requested: EvaluationAttackName[] | undefined, suite: EvaluationSuite, norm: Norm, problems: string[]): EvaluationAttackName[] {
  if (suite === 'custom') {
    if (!requested) problems.push('attacks is required when suite is "custom"');
    else if (norm === 'l2' && requested.includes('square')) problems.push('attacks: square is an L∞ attack; it cannot run with norm "l2"');
    return requested ?? [];
  }
  if (requested) problems.push(`attacks may only be given with suite "custom" (suite "${suite}" fixes them)`);
  return SUITE_ATTACKS[suite].filter((attack) => norm !== 'l2' || attack !== 'square');
}

/**
 * A distilled model was deployed read through its softmax, where it looks robust; its
 * evaluation shows that naive view next to the attack on its logits (Carlini & Wagner), whose
 * adaptive view divides them by the training temperature.
 */
function distilledModelView(source: ModelRunSpec): DefenseSpec | undefined {
  if (source.kind !== 'distillation') return undefined;
  const temperature = source.temperature !== undefined && source.temperature > 1 ? { temperature: source.temperature } : {};
  return { preprocessing: [], logits: { kind: 'softmax-output', ...temperature } };
}

/**
 * A distilled model's logits are about T times too large, so cross-entropy saturates and
 * CE-PGD finds almost nothing even on the logits; PGD then takes Carlini & Wagner's margin
 * loss unless the request chose a loss.
 */
function defaultParams(source: ModelRunSpec): EvaluationAttackParams {
  return source.kind === 'distillation'
    ? { ...DEFAULT_EVALUATION_PARAMS, pgd: { ...DEFAULT_EVALUATION_PARAMS.pgd, loss: 'margin' } }
    : DEFAULT_EVALUATION_PARAMS;
}

function resolveDefense(request: DefenseRequest, seed: number, problems: string[]): DefenseSpec {
  const preprocessing = request.preprocessing.flatMap((step, i) => resolveStep(step, `defense.preprocessing.${i}`, seed, problems) ?? []);
  const logits = resolveLogits(request.logits, problems);
  return { preprocessing, ...(logits && { logits }) };
}

function resolveLogits(request: DefenseRequest['logits'], problems: string[]): LogitsSquashSpec | undefined {
  switch (request?.kind) {
    case undefined:
      return undefined;
    case 'saturate-logits':
      if (request.temperature === undefined) {
        problems.push('defense.logits.temperature must be a positive number: saturate-logits needs its temperature');
        return undefined;
      }
      return { kind: 'saturate-logits', temperature: request.temperature };
    case 'softmax-output':
      if (request.temperature !== undefined) problems.push('defense.logits.temperature applies to saturate-logits only');
      return { kind: 'softmax-output' };
  }
}

/** Each step takes exactly the fields its kind needs (random ones also a seed, default the evaluation's). */
function resolveStep(step: PreprocessingStepRequest, path: string, seed: number, problems: string[]): PreprocessingStep | undefined {
  const needed = PREPROCESSING_STEP_FIELDS[step.kind];
  const random = RANDOM_PREPROCESSING_KINDS.includes(step.kind);
  const given = Object.keys(step).filter((field) => field !== 'kind');
  const missing = needed.filter((field) => !given.includes(field));
  const extra = given.filter((field) => !needed.includes(field) && !(random && field === 'seed'));
  if (missing.length) problems.push(`${path}: ${step.kind} needs ${missing.join(', ')}`);
  else if (extra.length) problems.push(`${path}: ${step.kind} takes no ${extra.join(', ')}`);
  else if (step.kind === 'random-resize-pad' && step.minSize !== undefined && step.maxSize !== undefined && step.minSize > step.maxSize) {
    problems.push(`${path}: minSize must not exceed maxSize`);
  } else {
    const fields = Object.fromEntries(needed.map((field) => [field, step[field as keyof PreprocessingStepRequest]]));
    return preprocessingStepSchema.parse({ kind: step.kind, ...fields, ...(random && { seed: step.seed ?? seed }) });
  }
  return undefined;
}

/** The detection fields of the spec, every default filled; none without detectors. */
function resolveDetection(
  request: CreateEvaluationRequest,
  seed: number,
  problems: string[],
): Pick<EvaluationRunSpec, 'detectors' | 'validationExamples' | 'detectorAware'> {
  if (!request.detectors) {
    for (const field of ['validationExamples', 'detectorAware'] as const) {
      if (request[field] !== undefined) problems.push(`${field} applies only with detectors`);
    }
    return {};
  }
  const kinds = request.detectors.map((d) => d.kind);
  const repeated = kinds.find((kind, i) => kinds.indexOf(kind) !== i);
  if (repeated) problems.push(`detectors: each kind at most once (${repeated} appears twice)`);
  return {
    detectors: request.detectors.flatMap((detector, i) => resolveDetector(detector, `detectors.${i}`, seed, problems) ?? []),
    validationExamples: request.validationExamples ?? DEFAULT_VALIDATION_EXAMPLES,
    detectorAware: { ...DEFAULT_DETECTOR_AWARE, ...request.detectorAware },
  };
}

function resolveDetector(detector: DetectorRequest, path: string, seed: number, problems: string[]): DetectorRunSpec | undefined {
  const extra = Object.keys(detector).filter((field) => field !== 'kind' && field !== 'fpr' && !DETECTOR_FIELDS[detector.kind].includes(field));
  if (extra.length) {
    problems.push(`${path}: ${detector.kind} takes no ${extra.join(', ')}`);
    return undefined;
  }
  const fpr = detector.fpr ?? DEFAULT_DETECTOR_FPR;
  switch (detector.kind) {
    case 'confidence':
      return { kind: 'confidence', fpr };
    case 'feature-squeezing':
      return {
        kind: 'feature-squeezing',
        fpr,
        squeezers: detector.squeezers ? resolveSqueezers(detector.squeezers, `${path}.squeezers`, seed, problems) : [...DEFAULT_SQUEEZERS],
      };
    case 'mahalanobis':
      return {
        kind: 'mahalanobis',
        fpr,
        ...(detector.featureLayer !== undefined && { featureLayer: detector.featureLayer }),
        shrinkage: detector.shrinkage ?? DEFAULT_MAHALANOBIS_SHRINKAGE,
      };
  }
}

/** A random squeezer would make the score itself random: the detector compares f(x) with f(squeeze(x)). */
function resolveSqueezers(squeezers: PreprocessingStepRequest[], path: string, seed: number, problems: string[]): PreprocessingStep[] {
  return squeezers.flatMap((step, j) => {
    if (!RANDOM_PREPROCESSING_KINDS.includes(step.kind)) return resolveStep(step, `${path}.${j}`, seed, problems) ?? [];
    problems.push(`${path}.${j}: ${step.kind} is random; a squeezer must be deterministic`);
    return [];
  });
}
