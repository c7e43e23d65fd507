import { BadRequestException, ConflictException, GatewayTimeoutException, Inject, Injectable, InternalServerErrorException } from '@nestjs/common';
import type { ApiConfig } from '@bulwark/config';
import { EvaluationResultRepository, RobustnessResult, Run, RunRepository, ShardCounts } from '@bulwark/database';
import type { PredictJobResult } from '@bulwark/queue';
import { CreateEvaluationRequest, EvaluationRunSpec, MODEL_RUN_KINDS, ModelRunSpec, PredictRequest, resolveEvaluationSpec } from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';
import { DatasetsService } from '../datasets/datasets.service';
import { RunJobsProducer } from '../runs/run-jobs.producer';
import { CreateRunResult, RunsService } from '../runs/runs.service';
import type { EvaluationRecord } from './evaluation.mapper';

export interface PredictResponse extends PredictJobResult {
  evaluationId: string;
}

@Injectable()
export class EvaluationsService {
  constructor(
    private readonly runs: RunsService,
    private readonly producer: RunJobsProducer,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly runRepository: RunRepository,
    private readonly results: EvaluationResultRepository,
    private readonly datasets: DatasetsService,
  ) {}

  async create(tenantId: string, dto: CreateEvaluationRequest, idempotencyKey?: string): Promise<CreateRunResult> {
    const source = await this.runRepository.findOwned(tenantId, dto.runId);
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
    const resolved = resolveEvaluationSpec(dto, { spec: source.spec as ModelRunSpec, checkpoint });
    if (!resolved.ok) throw new BadRequestException(resolved.errors);
    return this.runs.submit(tenantId, resolved.spec, { idempotencyKey, parentRunId: source.id, parentCheckpointId: checkpoint.id });
  }

  /** The newest 200 evaluations (of one run, if given), with the rows of their curves and their shard counts. */
  async list(tenantId: string, runId?: string): Promise<{ evaluations: Run[]; rows: RobustnessResult[]; shards: Map<string, ShardCounts> }> {
    const evaluations = await this.runRepository.findEvaluations({ tenantId, ...(runId && { sourceRunIds: [runId] }), order: 'newest-first', limit: 200 });
    const ids = evaluations.map((e) => e.id);
    return { evaluations, rows: await this.results.resultsOf(ids), shards: await this.results.shardCounts(ids) };
  }

  async get(tenantId: string, id: string): Promise<EvaluationRecord> {
    const run = await this.runs.get(tenantId, id, 'evaluation');
    const shards = (await this.results.shardCounts([id])).get(id) ?? null;
    return { run, results: await this.results.results(id), gallery: await this.results.gallery(id), shards };
  }

  /**
   * Classifies inputs with an evaluated stack (defense → model → one detector). The API runs
   * no TensorFlow: a worker rebuilds the stack from the evaluation's spec and answers the job.
   */
  async predict(tenantId: string, id: string, dto: PredictRequest): Promise<PredictResponse> {
    const run = await this.runs.get(tenantId, id, 'evaluation');
    const spec = run.spec as EvaluationRunSpec;
    const [h, w, c] = await this.datasets.inputShape(tenantId, spec.dataset);
    const wrong = dto.inputs.findIndex((input) => input.length !== h * w * c);
    if (wrong >= 0) {
      throw new BadRequestException([
        `inputs.${wrong} has ${dto.inputs[wrong].length} numbers; a ${spec.dataset} image flattens to ${h * w * c} (${h}×${w}×${c})`,
      ]);
    }
    if (!spec.detectors?.length)
      throw new ConflictException(`evaluation ${id} has no detectors: submit an evaluation with "detectors" to get a stack that can reject inputs`);
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
          `no worker answered within ${this.config.predictTimeoutMs} ms (PREDICT_TIMEOUT_MS): none may be running, ` +
            'or all are busy with evaluations (a prediction waits for a free evaluation worker)',
        );
    }
  }
}
