import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { AdversarialExample, Checkpoint, RobustnessResult, Run } from '@bulwark/database';
import {
  DEFAULT_EVALUATION_PARAMS,
  DefenseSpec,
  PreprocessingStepSpec,
  EvaluationAttackName,
  EvaluationRunSpec,
  SUITE_ATTACKS,
  TRAINING_RUN_KINDS,
  TrainingRunSpec,
} from '@bulwark/jobs';
import { definedFields } from '../common/defined-fields';
import { CreateRunResult, RunsService } from '../runs/runs.service';
import { CreateEvaluationDto } from './dto/create-evaluation.dto';

export interface CurvePoint {
  epsilon: number;
  n: number;
  cleanAccuracy: number;
  /** Robust accuracy per attack, and under 'suite': the per-example worst case over all of them. */
  robustAccuracy: Record<string, number>;
}

export interface EvaluationView {
  run: Run;
  /** The model as evaluated: the bare model, or a defense as deployed (attacked naively). */
  curve: CurvePoint[];
  /** For a defense that hides gradients: the same curve under BPDA / EOT / un-squashed logits. */
  adaptiveCurve: CurvePoint[] | null;
  flags: unknown;
  results: RobustnessResult[];
  /** Gallery examples of every view (each says its view). */
  examples: Array<Omit<AdversarialExample, 'clean' | 'adversarial' | 'run'> & { clean: string; adversarial: string }>;
}

const MAX_LINF_EPSILON = 1;
const MAX_L2_EPSILON = 10;

@Injectable()
export class EvaluationsService {
  constructor(
    private readonly runs: RunsService,
    @InjectRepository(Run) private readonly runRepository: Repository<Run>,
    @InjectRepository(Checkpoint) private readonly checkpoints: Repository<Checkpoint>,
    @InjectRepository(RobustnessResult) private readonly results: Repository<RobustnessResult>,
    @InjectRepository(AdversarialExample) private readonly examples: Repository<AdversarialExample>,
  ) {}

  async create(dto: CreateEvaluationDto, idempotencyKey?: string): Promise<CreateRunResult> {
    const source = await this.runRepository.findOneBy({ id: dto.runId });
    if (!source) throw new BadRequestException([`runId: run ${dto.runId} does not exist`]);
    if (!(TRAINING_RUN_KINDS as readonly string[]).includes(source.kind)) {
      throw new BadRequestException([`runId: run ${dto.runId} is a ${source.kind} run, not a trained model`]);
    }
    const checkpoint = await this.checkpoints.findOne({
      where: { runId: source.id, ...(dto.checkpointEpoch !== undefined && { epoch: dto.checkpointEpoch }) },
      order: { epoch: 'DESC' },
    });
    if (!checkpoint) {
      throw new BadRequestException([
        dto.checkpointEpoch === undefined
          ? `runId: run ${source.id} has no checkpoint yet`
          : `checkpointEpoch: run ${source.id} has no checkpoint for epoch ${dto.checkpointEpoch}`,
      ]);
    }
    const spec = this.resolveSpec(dto, source.spec as TrainingRunSpec, checkpoint, source.kind);
    return this.runs.submit(spec, { idempotencyKey, parentRunId: source.id, parentCheckpointId: checkpoint.id });
  }

  async list(runId?: string) {
    const evaluations = await this.runRepository.find({
      where: { kind: 'evaluation', ...(runId && { parentRunId: runId }) },
      order: { createdAt: 'DESC' },
      take: 200,
    });
    const rows = evaluations.length ? await this.results.findBy({ runId: In(evaluations.map((e) => e.id)) }) : [];
    const curveOf = (id: string, adaptive: boolean) => toCurve(rows.filter((r) => r.runId === id && (r.view === 'adaptive') === adaptive));
    return {
      items: evaluations.map((run) => {
        const adaptiveCurve = curveOf(run.id, true);
        return { run, curve: curveOf(run.id, false), adaptiveCurve: adaptiveCurve.length ? adaptiveCurve : null, flags: run.result?.flags ?? null };
      }),
    };
  }

  async get(id: string): Promise<EvaluationView> {
    const run = await this.runs.get(id, 'evaluation');
    const results = await this.results.find({ where: { runId: id }, order: { epsilon: 'ASC', attack: 'ASC' } });
    const examples = await this.examples
      .createQueryBuilder('e')
      .addSelect(['e.clean', 'e.adversarial'])
      .where('e.run_id = :id', { id })
      .orderBy('e.epsilon', 'ASC')
      .addOrderBy('e.example_index', 'ASC')
      .getMany();
    const adaptive = results.filter((r) => r.view === 'adaptive');
    return {
      run,
      curve: toCurve(results.filter((r) => r.view !== 'adaptive')),
      adaptiveCurve: adaptive.length ? toCurve(adaptive) : null,
      flags: run.result?.flags ?? null,
      results,
      examples: examples.map(({ clean, adversarial, ...rest }) => ({
        ...rest,
        clean: clean.toString('base64'),
        adversarial: adversarial.toString('base64'),
      })),
    };
  }

  private resolveSpec(dto: CreateEvaluationDto, source: TrainingRunSpec, checkpoint: Checkpoint, sourceKind: Run['kind']): EvaluationRunSpec {
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
        ? { preprocessing: [], logits: { kind: 'softmax-output' as const } }
        : undefined;
    const p = dto.params ?? {};
    const d = DEFAULT_EVALUATION_PARAMS;
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
  const preprocessing = dto.preprocessing.map((step, i): PreprocessingStepSpec => {
    const needed = STEP_FIELDS[step.kind];
    const random = step.kind === 'gaussian-noise' || step.kind === 'random-resize-pad';
    const given = Object.keys(definedFields(step)).filter((k) => k !== 'kind');
    const missing = needed.filter((f) => !given.includes(f));
    const extra = given.filter((f) => !needed.includes(f) && !(random && f === 'seed'));
    if (missing.length) throw new BadRequestException([`defense.preprocessing.${i}: ${step.kind} needs ${missing.join(', ')}`]);
    if (extra.length) throw new BadRequestException([`defense.preprocessing.${i}: ${step.kind} takes no ${extra.join(', ')}`]);
    if (step.kind === 'random-resize-pad' && step.minSize! > step.maxSize!) {
      throw new BadRequestException([`defense.preprocessing.${i}: minSize must not exceed maxSize`]);
    }
    const fields = Object.fromEntries(needed.map((f) => [f, step[f as keyof typeof step]]));
    return { kind: step.kind, ...fields, ...(random && { seed: step.seed ?? seed }) } as PreprocessingStepSpec;
  });
  const logits = dto.logits?.kind === 'saturate-logits' ? { kind: 'saturate-logits' as const, temperature: dto.logits.temperature! } : dto.logits && { kind: 'softmax-output' as const };
  if (dto.logits?.kind === 'softmax-output' && dto.logits.temperature !== undefined) throw new BadRequestException(['defense.logits.temperature applies to saturate-logits only']);
  return { preprocessing, ...(logits && { logits }) };
}

function withDefaults<T extends object>(defaults: T, overrides: Partial<T> | undefined): T {
  return { ...defaults, ...definedFields(overrides ?? {}) };
}

/** Rows of (ε, attack) → one curve point per ε, fractions with their n. */
export function toCurve(rows: RobustnessResult[]): CurvePoint[] {
  const byEpsilon = new Map<number, CurvePoint>();
  for (const row of [...rows].sort((a, b) => a.epsilon - b.epsilon)) {
    const point = byEpsilon.get(row.epsilon) ?? { epsilon: row.epsilon, n: row.n, cleanAccuracy: row.cleanCorrect / row.n, robustAccuracy: {} };
    point.robustAccuracy[row.attack] = row.robustCorrect / row.n;
    byEpsilon.set(row.epsilon, point);
  }
  return [...byEpsilon.values()];
}
