import { BadRequestException, ConflictException, GatewayTimeoutException, Inject, Injectable, InternalServerErrorException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ApiConfig } from '@bulwark/config';
import { In, Repository } from 'typeorm';
import { AdversarialExample, Checkpoint, RobustnessResult, Run } from '@bulwark/database';
import type { PredictJobResult } from '@bulwark/queue';
import { CreateEvaluationRequest, DATASET_INPUT_SHAPES, DetectionResult, EvaluationRunSpec, MODEL_RUN_KINDS, ModelRunSpec, PredictRequest, resolveEvaluationSpec } from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';
import { RunJobsProducer } from '../runs/run-jobs.producer';
import { CreateRunResult, RunsService } from '../runs/runs.service';

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
  /** With detectors, once succeeded: per detector and ε, detection rates, ROC AUC and the stack's robust accuracy (counts over n). */
  detection: DetectionResult | null;
}

export interface PredictResponse extends PredictJobResult {
  evaluationId: string;
}

@Injectable()
export class EvaluationsService {
  constructor(
    private readonly runs: RunsService,
    private readonly producer: RunJobsProducer,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @InjectRepository(Run) private readonly runRepository: Repository<Run>,
    @InjectRepository(Checkpoint) private readonly checkpoints: Repository<Checkpoint>,
    @InjectRepository(RobustnessResult) private readonly results: Repository<RobustnessResult>,
    @InjectRepository(AdversarialExample) private readonly examples: Repository<AdversarialExample>,
  ) {}

  async create(dto: CreateEvaluationRequest, idempotencyKey?: string): Promise<CreateRunResult> {
    const source = await this.runRepository.findOneBy({ id: dto.runId });
    if (!source) throw new BadRequestException([`runId: run ${dto.runId} does not exist`]);
    if (!(MODEL_RUN_KINDS as readonly string[]).includes(source.kind)) {
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
    this.runs.assertHoldsModel('runId', checkpoint, source);
    const resolved = resolveEvaluationSpec(dto, { spec: source.spec as ModelRunSpec, checkpoint });
    if (!resolved.ok) throw new BadRequestException(resolved.errors);
    return this.runs.submit(resolved.spec, { idempotencyKey, parentRunId: source.id, parentCheckpointId: checkpoint.id });
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
      detection: (run.result?.detection as DetectionResult | undefined) ?? null,
    };
  }

  /**
   * Classifies inputs with an evaluated stack (defense → model → one detector). The API runs
   * no TensorFlow: a worker rebuilds the stack from the evaluation's spec and answers the job.
   */
  async predict(id: string, dto: PredictRequest): Promise<PredictResponse> {
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
