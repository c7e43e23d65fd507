import { BadRequestException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { ApiConfig } from '@bulwark/config';
import { Checkpoint, CheckpointBytes, CheckpointWithData, Metric, MetricPoint, Run, RunRepository } from '@bulwark/database';
import { LAYERS_UPLOAD_FORMAT } from '@bulwark/queue';
import {
  CreateRunRequest,
  IMPORTED_MODEL,
  ImportedModelRef,
  ListRunsQuery,
  ModelRunSpec,
  ResumeRunRequest,
  RunModelName,
  RunSpec,
  TrainingRunSpec,
  resolveRunSpec,
} from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError } from '../common/store-unavailable';
import { DatasetsService } from '../datasets/datasets.service';
import { RunJobsProducer } from './run-jobs.producer';
import { decodeBase64 } from '../common/decode-base64';

export interface CreateRunResult {
  run: Run;
  /** True when an Idempotency-Key matched an existing run and nothing new was created. */
  replayed: boolean;
}

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Lineage: the run and checkpoint the new run derives from. */
  parentRunId?: string | null;
  parentCheckpointId?: string | null;
  /** Bytes stored as one of the run's checkpoints in the same transaction as the run (an import's upload, a resumed run's checkpoint). */
  checkpoint?: CheckpointBytes;
  /** Metric points stored with the run (a resumed run's epochs so far). */
  metrics?: MetricPoint[];
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);

  constructor(
    private readonly runs: RunRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly producer: RunJobsProducer,
    private readonly datasets: DatasetsService,
  ) {}

  async create(tenantId: string, dto: CreateRunRequest, idempotencyKey?: string): Promise<CreateRunResult> {
    const resolved = this.resolveSpec(dto);
    const teacher = dto.teacherCheckpoint ? await this.teacherCheckpoint(tenantId, dto.teacherCheckpoint, resolved) : null;
    const initial = dto.fromCheckpoint ? await this.initialCheckpoint(tenantId, dto.fromCheckpoint, resolved) : null;
    const spec: TrainingRunSpec = {
      ...resolved,
      ...(initial && { initialCheckpointId: initial.checkpoint.id }),
      ...(initial?.importedModel && { importedModel: initial.importedModel }),
      ...(teacher && { teacherCheckpointId: teacher.id }),
    };
    const parent = initial?.checkpoint ?? teacher;
    return this.submit(tenantId, spec, {
      idempotencyKey,
      parentRunId: parent?.runId ?? null,
      parentCheckpointId: parent?.id ?? null,
    });
  }

  /**
   * A run carried over from another database (another cluster, or a session whose database is
   * gone): stored with its newest checkpoint and the metrics up to it, then queued like any
   * run. The worker finds the checkpoint and resumes after its epoch, as for a re-delivered job,
   * so the run ends as it would have where it started. Its spec is resolved as POST /runs
   * resolves it, so the same Idempotency-Key and body find it again.
   */
  async resume(tenantId: string, dto: ResumeRunRequest, idempotencyKey?: string): Promise<CreateRunResult> {
    const parentField = dto.run.fromCheckpoint ? 'fromCheckpoint' : dto.run.teacherCheckpoint ? 'teacherCheckpoint' : undefined;
    if (parentField) {
      throw new BadRequestException([`run.${parentField}: a run built on another checkpoint cannot be resumed here: that checkpoint does not travel with it`]);
    }
    const spec = this.resolveSpec(dto.run, 'run.');
    const { epoch, format } = dto.checkpoint;
    if (epoch >= spec.epochs) {
      throw new BadRequestException([`checkpoint.epoch: ${epoch} leaves nothing to resume of a run of ${spec.epochs} epochs`]);
    }
    const data = await decodeBase64(dto.checkpoint.data);
    const digest = createHash('sha256').update(data).digest('hex');
    if (digest !== dto.checkpoint.sha256.toLowerCase()) {
      throw new BadRequestException([`checkpoint.sha256 does not match the data (whose SHA-256 is ${digest}): the checkpoint was damaged or cut short`]);
    }
    // The schema has checked the points as a whole (each once, none after the checkpoint), so the insert cannot collide.
    const metrics = (dto.metrics ?? []).map(({ key, step, value }) => ({ key, step, value }));
    return this.submit(tenantId, spec, { idempotencyKey, checkpoint: { epoch, data, sha256: digest, format }, metrics });
  }

  /** A distillation teacher: a checkpoint of a model trained on the same data (any architecture). */
  private async teacherCheckpoint(tenantId: string, checkpointId: string, spec: TrainingRunSpec): Promise<Checkpoint> {
    const { checkpoint, source } = await this.modelCheckpoint(tenantId, 'teacherCheckpoint', checkpointId);
    const teacher = source.spec as ModelRunSpec;
    if (teacher.dataset !== spec.dataset) {
      throw new BadRequestException([`teacherCheckpoint: checkpoint ${checkpointId} was trained on ${teacher.dataset}, not ${spec.dataset}`]);
    }
    return checkpoint;
  }

  /**
   * A fine-tuning run starts from a checkpoint of the same architecture on the same data. An
   * imported architecture is the one of the import the checkpoint descends from.
   */
  private async initialCheckpoint(
    tenantId: string,
    checkpointId: string,
    spec: TrainingRunSpec,
  ): Promise<{ checkpoint: Checkpoint; importedModel?: ImportedModelRef }> {
    const { checkpoint, source } = await this.modelCheckpoint(tenantId, 'fromCheckpoint', checkpointId);
    const sourceSpec = source.spec as ModelRunSpec;
    if (sourceSpec.model !== spec.model || sourceSpec.dataset !== spec.dataset) {
      throw new BadRequestException([
        `fromCheckpoint: checkpoint ${checkpointId} holds ${aModel(sourceSpec.model)} trained on ${sourceSpec.dataset}, ` +
          `not ${aModel(spec.model)} on ${spec.dataset}`,
      ]);
    }
    if (sourceSpec.model !== IMPORTED_MODEL) return { checkpoint };
    const importedModel = sourceSpec.kind === 'import' ? { runId: source.id, checkpointId: checkpoint.id } : sourceSpec.importedModel;
    return { checkpoint, ...(importedModel && { importedModel }) };
  }

  /**
   * A checkpoint a new run takes its model from (to fine-tune, distil or evaluate), with its run.
   * Another tenant's checkpoint does not exist for this one: lineage never crosses tenants.
   */
  private async modelCheckpoint(tenantId: string, field: string, checkpointId: string): Promise<{ checkpoint: Checkpoint; source: Run }> {
    const checkpoint = await this.runs.checkpoint(checkpointId);
    const source = checkpoint && (await this.runs.findOwned(tenantId, checkpoint.runId));
    if (!checkpoint || !source) throw new BadRequestException([`${field}: checkpoint ${checkpointId} does not exist`]);
    this.assertHoldsModel(field, checkpoint, source);
    return { checkpoint, source };
  }

  /** An uploaded model becomes a model once its import run has accepted it (and replaced the upload). */
  assertHoldsModel(field: string, checkpoint: Checkpoint, source: Run): void {
    if (checkpoint.format === LAYERS_UPLOAD_FORMAT) {
      throw new BadRequestException([
        `${field}: checkpoint ${checkpoint.id} is the upload of import run ${source.id}, ` +
          `which is ${source.status}${source.error ? ` (${source.error})` : ''}; it holds a model once that run has succeeded`,
      ]);
    }
  }

  /**
   * Stores a run (status queued) and enqueues its job: the one path every kind of run takes.
   * A replayed Idempotency-Key returns the stored run; the same key with another spec is a 409.
   */
  async submit(tenantId: string, spec: RunSpec, options: SubmitOptions = {}): Promise<CreateRunResult> {
    const { idempotencyKey, parentRunId = null, parentCheckpointId = null, checkpoint, metrics } = options;
    const requestHash = sha256(JSON.stringify(spec));
    if (idempotencyKey) {
      const existing = await this.runs.findByIdempotencyKey(tenantId, idempotencyKey);
      if (existing) return { run: this.checkReplay(existing, requestHash), replayed: true };
    }
    await this.datasets.assertUsableBy(tenantId, spec);

    const { run, created } = await this.runs
      .createQueued({
        tenantId,
        spec,
        idempotencyKey: idempotencyKey ?? null,
        requestHash,
        parentRunId,
        parentCheckpointId,
        checkpoint,
        metrics,
      })
      .catch((err: unknown) => {
        throw this.datasets.deletedMeanwhile(err, spec) ?? err;
      });
    if (!created) return { run: this.checkReplay(run, requestHash), replayed: true };

    try {
      await this.producer.enqueue(run);
    } catch (err) {
      await this.withdraw(run, err);
      throw err;
    }
    return { run, replayed: false };
  }

  /**
   * A run whose job could not be enqueued is deleted (with the checkpoint and metrics stored with
   * it), so the 503 leaves nothing behind: no row without a job, and a retry with the same
   * Idempotency-Key creates the run afresh instead of finding one that never ran. Should the
   * delete fail too (Postgres went down as well), the row stays queued and the worker's
   * reconciler enqueues it once Redis is back.
   */
  private async withdraw(run: Run, cause: unknown): Promise<void> {
    const why = cause instanceof Error ? cause.message : String(cause);
    try {
      const deleted = await this.runs.deleteUnstarted(run.id);
      this.logger.warn(`run ${run.id}: could not enqueue its job (${why}); ${deleted ? 'withdrawn' : 'already taken up, kept'}`);
    } catch (err) {
      this.logger.error(`run ${run.id}: could not enqueue its job (${why}) nor withdraw it (${(err as Error).message}); left queued for the reconciler`);
    }
  }

  async list(tenantId: string, query: ListRunsQuery): Promise<Page<Run>> {
    const { status, kind, idempotencyKey, limit, offset } = query;
    const { items, total } = await this.runs.list({ tenantId, status, kind, idempotencyKey }, { limit, offset });
    return { items, total, limit, offset };
  }

  /** A run of the tenant; another tenant's is a 404 like an id that never existed, so ids reveal nothing. */
  async get(tenantId: string, id: string, kind?: Run['kind']): Promise<Run> {
    const run = await this.runs.findOwned(tenantId, id, kind);
    if (!run) throw new NotFoundException(`${kind === 'evaluation' ? 'evaluation' : 'run'} ${id} not found`);
    return run;
  }

  async metricsOf(tenantId: string, id: string, key?: string): Promise<Metric[]> {
    await this.get(tenantId, id);
    return this.runs.metrics(id, key);
  }

  async checkpointsOf(tenantId: string, id: string): Promise<Checkpoint[]> {
    await this.get(tenantId, id);
    return this.runs.checkpoints(id);
  }

  async checkpointData(tenantId: string, id: string, checkpointId: string): Promise<CheckpointWithData> {
    await this.get(tenantId, id);
    const checkpoint = await this.runs.checkpointData(checkpointId);
    if (!checkpoint || checkpoint.runId !== id) throw new NotFoundException(`checkpoint ${checkpointId} of run ${id} not found`);
    return checkpoint;
  }

  /**
   * A queued run is removed from the queue and never starts. A running run gets a cancel flag
   * that its worker checks at every batch boundary; the run ends `cancelled` shortly after. A
   * running run whose job no worker holds (lost, failed, waiting for a retry) ends at once:
   * nothing would ever read its flag.
   */
  async cancel(tenantId: string, id: string): Promise<Run> {
    const run = await this.get(tenantId, id);
    if (!(await this.runs.requestCancel(id))) {
      // Read again: the run may have ended since it was read above, and an ended run never changes.
      throw new ConflictException(`run ${id} has already ended (${(await this.get(tenantId, id)).status})`);
    }
    // A worker handed the job would find its run cancelled and skip it; removing a waiting job
    // spares the delivery. With Redis down the cancel still stands (Postgres holds it): a worker
    // ends the run at its next batch, or the reconciler does once no job holds it.
    try {
      const removed = await this.producer.removeIfWaiting(run);
      if (run.status === 'running' && (removed || !(await this.producer.isHeld(run)))) await this.runs.markCancelled(id);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.logger.warn(`run ${id}: cancel recorded without reaching its job: ${err.detail}`);
    }
    return this.get(tenantId, id);
  }

  /** The stored spec of a POST /runs body, or a 400 naming every field at fault (under `prefix` where the body nests it). */
  private resolveSpec(request: CreateRunRequest, prefix = ''): TrainingRunSpec {
    const resolved = resolveRunSpec(request, { maxEpochs: this.config.maxEpochs, maxBatchSize: this.config.maxBatchSize });
    if (!resolved.ok) throw new BadRequestException(resolved.errors.map((error) => `${prefix}${error}`));
    return resolved.spec;
  }

  private checkReplay(existing: Run, requestHash: string): Run {
    if (existing.requestHash !== requestHash) {
      throw new ConflictException('Idempotency-Key was already used with a different request body');
    }
    return existing;
  }
}

function aModel(model: RunModelName): string {
  return model === IMPORTED_MODEL ? 'an imported model (model "imported")' : `a ${model}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
