import { BadRequestException, ConflictException, GatewayTimeoutException, Inject, Injectable, InternalServerErrorException } from '@nestjs/common';
import type { ApiConfig } from '@bulwark/config';
import { Checkpoint, EvaluationResultRepository, RobustnessResult, Run, RunRepository } from '@bulwark/database';
import {
  DATASET_INPUT_SHAPES,
  DEFAULT_DETECTOR_AWARE,
  DEFAULT_DETECTOR_FPR,
  DEFAULT_EVALUATION_PARAMS,
  DEFAULT_MAHALANOBIS_SHRINKAGE,
  DEFAULT_SQUEEZERS,
  DEFAULT_VALIDATION_EXAMPLES,
  DefenseSpec,
  DetectorAwareAttackSpec,
  DetectorRunSpec,
  PredictJobResult,
  PreprocessingStepSpec,
  EvaluationAttackName,
  EvaluationRunSpec,
  MODEL_RUN_KINDS,
  ModelRunSpec,
  SUITE_ATTACKS,
} from '@bulwark/queue';
import { definedFields } from '../common/defined-fields';
import { API_CONFIG } from '../common/api-config';
import { RunJobsProducer } from '../runs/run-jobs.producer';
import { CreateRunResult, RunsService } from '../runs/runs.service';
import { CreateEvaluationDto, DetectorDto, PreprocessingStepDto } from './dto/create-evaluation.dto';
import { PredictDto } from './dto/predict.dto';
import type { EvaluationRecord } from './evaluation.mapper';

export interface PredictResponse extends PredictJobResult {
  evaluationId: string;
}

const MAX_LINF_EPSILON = 1;
const MAX_L2_EPSILON = 10;

@Injectable()
export class EvaluationsService {
  constructor(
    private readonly runs: RunsService,
    private readonly producer: RunJobsProducer,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly runRepository: RunRepository,
    private readonly results: EvaluationResultRepository,
  ) {}

  async create(dto: CreateEvaluationDto, idempotencyKey?: string): Promise<CreateRunResult> {
    const source = await this.runRepository.find(dto.runId);
    if (!source) throw new BadRequestException([`runId: run ${dto.runId} does not exist`]);
    if (!(MODEL_RUN_KINDS as readonly string[]).includes(source.kind)) {
      throw new BadRequestException([`runId: run ${dto.runId} is a ${source.kind} run, not a trained model`]);
    }
    const checkpoint = await this.runRepository.checkpointOf(source.id, dto.checkpointEpoch);
    if (!checkpoint) {
      throw new BadRequestException([
        dto.checkpointEpoch === undefined
          ? `runId: run ${source.id} has no checkpoint yet`
          : `checkpointEpoch: run ${source.id} has no checkpoint for epoch ${dto.checkpointEpoch}`,
      ]);
    }
    this.runs.assertHoldsModel('runId', checkpoint, source);
    const spec = this.resolveSpec(dto, source.spec as ModelRunSpec, checkpoint, source.kind);
    return this.runs.submit(spec, { idempotencyKey, parentRunId: source.id, parentCheckpointId: checkpoint.id });
  }

  /** The newest 200 evaluations (of one run, if given), with the rows of their curves. */
  async list(runId?: string): Promise<{ evaluations: Run[]; rows: RobustnessResult[] }> {
    const evaluations = await this.runRepository.findEvaluations({ ...(runId && { sourceRunIds: [runId] }), order: 'newest-first', limit: 200 });
    return { evaluations, rows: await this.results.resultsOf(evaluations.map((e) => e.id)) };
  }

  async get(id: string): Promise<EvaluationRecord> {
    const run = await this.runs.get(id, 'evaluation');
    return { run, results: await this.results.results(id), gallery: await this.results.gallery(id) };
  }

  /**
   * Classifies inputs with an evaluated stack (defense → model → one detector). The API runs
   * no TensorFlow: a worker rebuilds the stack from the evaluation's spec and answers the job.
   */
  async predict(id: string, dto: PredictDto): Promise<PredictResponse> {
    const run = await this.runs.get(id, 'evaluation');
    const spec = run.spec as EvaluationRunSpec;
    const [h, w, c] = DATASET_INPUT_SHAPES[spec.dataset];
    const wrong = dto.inputs.findIndex((input) => input.length !== h * w * c);
    if (wrong >= 0) {
      throw new BadRequestException([`inputs.${wrong} has ${dto.inputs[wrong].length} numbers; a ${spec.dataset} image flattens to ${h * w * c} (${h}×${w}×${c})`]);
    }
    if (!spec.detectors?.length) throw new ConflictException(`evaluation ${id} has no detectors: submit an evaluation with "detectors" to get a stack that can reject inputs`);
    if (run.status !== 'succeeded') throw new ConflictException(`evaluation ${id} is ${run.status}; predictions need a succeeded evaluation`);
    const kinds = spec.detectors.map((d) => d.kind);
    const detector = dto.detector ?? kinds[0];
    if (!kinds.includes(detector)) throw new BadRequestException([`detector: evaluation ${id} has no ${detector} detector (it has ${kinds.join(', ')})`]);

    const outcome = await this.producer.predict({ evaluationRunId: id, detector, inputs: dto.inputs });
    switch (outcome.status) {
      case 'answered':
        return { evaluationId: id, ...outcome.result };
      case 'failed':
        throw new InternalServerErrorException(`the worker could not answer: ${outcome.reason}`);
      case 'timed-out':
        throw new GatewayTimeoutException(
          `no worker answered within ${this.config.predictTimeoutMs} ms (PREDICT_TIMEOUT_MS): none may be running, or all are busy with evaluations (a prediction waits for a free evaluation worker)`,
        );
    }
  }

  private resolveSpec(dto: CreateEvaluationDto, source: ModelRunSpec, checkpoint: Checkpoint, sourceKind: Run['kind']): EvaluationRunSpec {
    const norm = dto.norm ?? 'linf';
    const maxEpsilon = norm === 'linf' ? MAX_LINF_EPSILON : MAX_L2_EPSILON;
    const tooLarge = dto.epsilons.find((e) => e > maxEpsilon);
    if (tooLarge !== undefined) throw new BadRequestException([`epsilons: ${tooLarge} exceeds ${maxEpsilon}, the largest ${norm} radius in [0,1] input space`]);

    const suite = dto.suite ?? 'standard';
    let attacks: EvaluationAttackName[];
    if (suite === 'custom') {
      if (!dto.attacks) throw new BadRequestException(['attacks is required when suite is "custom"']);
      attacks = dto.attacks;
    } else {
      if (dto.attacks) throw new BadRequestException([`attacks may only be given with suite "custom" (suite "${suite}" fixes them)`]);
      attacks = SUITE_ATTACKS[suite];
    }
    if (norm === 'l2' && attacks.includes('square')) {
      if (suite === 'custom') throw new BadRequestException(['attacks: square is an L∞ attack; it cannot run with norm "l2"']);
      attacks = attacks.filter((a) => a !== 'square');
    }

    // A distilled model was deployed read through its softmax, where it looks robust; its
    // evaluation shows that naive view next to the attack on its logits (Carlini & Wagner).
    const defense = dto.defense
      ? resolveDefense(dto.defense, dto.seed ?? 0)
      : sourceKind === 'distillation'
        ? { preprocessing: [], logits: { kind: 'softmax-output' as const, ...distillationTemperature(source) } }
        : undefined;
    const detection = resolveDetection(dto, dto.seed ?? 0);
    const p = dto.params ?? {};
    // A distilled model's logits are about T times too large, so cross-entropy saturates and
    // CE-PGD finds almost nothing even on the logits; PGD then takes Carlini & Wagner's margin
    // loss unless the request chose a loss.
    const d = sourceKind === 'distillation'
      ? { ...DEFAULT_EVALUATION_PARAMS, pgd: { ...DEFAULT_EVALUATION_PARAMS.pgd, loss: 'margin' as const } }
      : DEFAULT_EVALUATION_PARAMS;
    return {
      kind: 'evaluation',
      sourceRunId: checkpoint.runId,
      checkpointId: checkpoint.id,
      checkpointEpoch: checkpoint.epoch,
      dataset: source.dataset,
      model: source.model,
      datasetSeed: source.seed,
      testFraction: source.testFraction,
      norm,
      epsilons: [...dto.epsilons].sort((a, b) => a - b),
      suite,
      attacks,
      params: {
        pgd: withDefaults(d.pgd, p.pgd),
        apgd: withDefaults(d.apgd, p.apgd),
        apgdTargeted: withDefaults(d.apgdTargeted, p.apgdTargeted),
        square: withDefaults(d.square, p.square),
      },
      examples: dto.examples ?? 1000,
      seed: dto.seed ?? 0,
      galleryPerEpsilon: dto.galleryPerEpsilon ?? 4,
      ...(defense && { defense }),
      ...detection,
    };
  }
}

const STEP_FIELDS: Record<PreprocessingStepSpec['kind'], string[]> = {
  'bit-depth': ['bits'],
  'median-filter': ['size'],
  jpeg: ['quality'],
  'gaussian-noise': ['sigma'],
  'random-resize-pad': ['minSize', 'maxSize'],
  'quantise-inputs': ['levels'],
};

/** Each step takes exactly the fields its kind needs (random ones also a seed, default the evaluation's). */
function resolveDefense(dto: CreateEvaluationDto['defense'] & object, seed: number): DefenseSpec {
  const preprocessing = dto.preprocessing.map((step, i) => resolveStep(step, `defense.preprocessing.${i}`, seed));
  const logits = dto.logits?.kind === 'saturate-logits' ? { kind: 'saturate-logits' as const, temperature: dto.logits.temperature! } : dto.logits && { kind: 'softmax-output' as const };
  if (dto.logits?.kind === 'softmax-output' && dto.logits.temperature !== undefined) throw new BadRequestException(['defense.logits.temperature applies to saturate-logits only']);
  return { preprocessing, ...(logits && { logits }) };
}

function resolveStep(step: PreprocessingStepDto, path: string, seed: number): PreprocessingStepSpec {
  const needed = STEP_FIELDS[step.kind];
  const random = step.kind === 'gaussian-noise' || step.kind === 'random-resize-pad';
  const given = Object.keys(definedFields(step)).filter((k) => k !== 'kind');
  const missing = needed.filter((f) => !given.includes(f));
  const extra = given.filter((f) => !needed.includes(f) && !(random && f === 'seed'));
  if (missing.length) throw new BadRequestException([`${path}: ${step.kind} needs ${missing.join(', ')}`]);
  if (extra.length) throw new BadRequestException([`${path}: ${step.kind} takes no ${extra.join(', ')}`]);
  if (step.kind === 'random-resize-pad' && step.minSize! > step.maxSize!) {
    throw new BadRequestException([`${path}: minSize must not exceed maxSize`]);
  }
  const fields = Object.fromEntries(needed.map((f) => [f, step[f as keyof typeof step]]));
  return { kind: step.kind, ...fields, ...(random && { seed: step.seed ?? seed }) } as PreprocessingStepSpec;
}

/** Options each detector kind takes besides kind and fpr. */
const DETECTOR_FIELDS: Record<DetectorRunSpec['kind'], string[]> = {
  confidence: [],
  'feature-squeezing': ['squeezers'],
  mahalanobis: ['featureLayer', 'shrinkage'],
};

/** The detection fields of the spec, every default filled; none without detectors. */
function resolveDetection(dto: CreateEvaluationDto, seed: number): Pick<EvaluationRunSpec, 'detectors' | 'validationExamples' | 'detectorAware'> {
  if (!dto.detectors) {
    for (const field of ['validationExamples', 'detectorAware'] as const) {
      if (dto[field] !== undefined) throw new BadRequestException([`${field} applies only with detectors`]);
    }
    return {};
  }
  const kinds = dto.detectors.map((d) => d.kind);
  const repeated = kinds.find((kind, i) => kinds.indexOf(kind) !== i);
  if (repeated) throw new BadRequestException([`detectors: each kind at most once (${repeated} appears twice)`]);
  const aware: DetectorAwareAttackSpec = { ...DEFAULT_DETECTOR_AWARE, ...definedFields(dto.detectorAware ?? {}) };
  return {
    detectors: dto.detectors.map((detector, i) => resolveDetector(detector, `detectors.${i}`, seed)),
    validationExamples: dto.validationExamples ?? DEFAULT_VALIDATION_EXAMPLES,
    detectorAware: aware,
  };
}

function resolveDetector(dto: DetectorDto, path: string, seed: number): DetectorRunSpec {
  const extra = Object.keys(definedFields(dto)).filter((k) => k !== 'kind' && k !== 'fpr' && !DETECTOR_FIELDS[dto.kind].includes(k));
  if (extra.length) throw new BadRequestException([`${path}: ${dto.kind} takes no ${extra.join(', ')}`]);
  const fpr = dto.fpr ?? DEFAULT_DETECTOR_FPR;
  switch (dto.kind) {
    case 'confidence':
      return { kind: 'confidence', fpr };
    case 'feature-squeezing': {
      const squeezers = (dto.squeezers ?? DEFAULT_SQUEEZERS).map((step, j) => {
        // A random squeezer would make the score itself random: the detector compares f(x) with f(squeeze(x)).
        if (step.kind === 'gaussian-noise' || step.kind === 'random-resize-pad') throw new BadRequestException([`${path}.squeezers.${j}: ${step.kind} is random; a squeezer must be deterministic`]);
        return resolveStep(step, `${path}.squeezers.${j}`, seed);
      });
      return { kind: 'feature-squeezing', fpr, squeezers };
    }
    case 'mahalanobis':
      return { kind: 'mahalanobis', fpr, ...(dto.featureLayer !== undefined && { featureLayer: dto.featureLayer }), shrinkage: dto.shrinkage ?? DEFAULT_MAHALANOBIS_SHRINKAGE };
  }
}

function withDefaults<T extends object>(defaults: T, overrides: Partial<T> | undefined): T {
  return { ...defaults, ...definedFields(overrides ?? {}) };
}

/** A distilled model's training temperature, for its adaptive view (logits / T). */
function distillationTemperature(source: ModelRunSpec): { temperature?: number } {
  return source.kind === 'distillation' && source.temperature !== undefined && source.temperature > 1 ? { temperature: source.temperature } : {};
}
