import { DataSource, EntityManager, In, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { EvaluationView } from '@bulwark/spec';
import { AdversarialExample } from './entities/adversarial-example.entity';
import { Checkpoint } from './entities/checkpoint.entity';
import { RobustnessResult } from './entities/robustness-result.entity';
import { Metric } from './entities/metric.entity';
import { Run, RunBackend, TERMINAL_STATUSES } from './entities/run.entity';

export type CheckpointWithData = Checkpoint & { data: Buffer };

export interface CheckpointBytes {
  epoch: number;
  data: Buffer;
  sha256: string;
  format: string;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
}

/**
 * The state transitions of a run as the worker sees them. Every transition is one guarded
 * UPDATE, so a late or re-delivered job cannot resurrect a run that has ended.
 */
export class RunLedger {
  constructor(private readonly dataSource: DataSource) {}

  find(runId: string): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOneBy({ id: runId });
  }

  /** Returns the run if it may start (queued, or running after a crash); null if it was cancelled or has ended. */
  async markRunning(runId: string, backend: RunBackend, attempt: number): Promise<Run | null> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(Run)
      .set({ status: 'running', backend, attempts: attempt, error: null, startedAt: () => 'coalesce(started_at, now())' })
      .where("id = :runId AND status IN ('queued', 'running') AND cancel_requested_at IS NULL", { runId })
      .execute();
    return result.affected ? this.find(runId) : null;
  }

  async setProgress(runId: string, progress: number): Promise<void> {
    await this.dataSource.getRepository(Run).update({ id: runId, status: 'running' }, { progress: clamp01(progress) });
  }

  async markSucceeded(runId: string, result?: Record<string, unknown>): Promise<boolean> {
    return this.finish(this.dataSource.manager, runId, succeeded(result));
  }

  /**
   * Ends a run as succeeded and writes one of its checkpoints in the same transaction (an
   * import's accepted model replaces its upload): a re-delivered job finds both done or neither.
   */
  async markSucceededWithCheckpoint(runId: string, checkpoint: CheckpointBytes, result?: Record<string, unknown>): Promise<boolean> {
    return this.dataSource.transaction(async (em) => {
      if (!(await this.finish(em, runId, succeeded(result)))) return false;
      await this.upsertCheckpoint(em, runId, checkpoint);
      return true;
    });
  }

  async markCancelled(runId: string): Promise<boolean> {
    return this.finish(this.dataSource.manager, runId, { status: 'cancelled' });
  }

  async markFailed(runId: string, error: string): Promise<boolean> {
    return this.finish(this.dataSource.manager, runId, { status: 'failed', error: error.slice(0, 4000) });
  }

  /** A failed attempt that BullMQ will retry: the run waits again, keeping the reason. */
  async markRetrying(runId: string, error: string): Promise<void> {
    await this.dataSource
      .getRepository(Run)
      .update({ id: runId, status: In(['queued', 'running']) }, { status: 'queued', error: error.slice(0, 4000) });
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    const row = await this.dataSource
      .getRepository(Run)
      .findOne({ where: { id: runId }, select: { id: true, cancelRequestedAt: true, status: true } });
    return !row || row.cancelRequestedAt !== null || row.status === 'cancelled';
  }

  async upsertMetrics(runId: string, points: MetricPoint[]): Promise<void> {
    if (!points.length) return;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(Metric)
      .values(points.map((p) => ({ runId, key: p.key, step: p.step, value: p.value, recordedAt: new Date() })))
      .orUpdate(['value', 'recorded_at'], ['run_id', 'key', 'step'])
      .execute();
  }

  async saveCheckpoint(runId: string, epoch: number, data: Buffer, sha256: string, format: string): Promise<void> {
    await this.upsertCheckpoint(this.dataSource.manager, runId, { epoch, data, sha256, format });
  }

  async metricSeries(runId: string, key: string): Promise<MetricPoint[]> {
    const rows = await this.dataSource.getRepository(Metric).find({ where: { runId, key }, order: { step: 'ASC' } });
    return rows.map(({ key: k, step, value }) => ({ key: k, step, value }));
  }

  /** A run's checkpoint of one epoch, with its bytes. */
  checkpointAt(runId: string, epoch: number): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.run_id = :runId AND c.epoch = :epoch', { runId, epoch }));
  }

  /** The newest checkpoint with its bytes, for resuming a re-delivered job. */
  latestCheckpoint(runId: string): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.run_id = :runId', { runId }).orderBy('c.epoch', 'DESC').limit(1));
  }

  /** The bytes of one checkpoint (an evaluation's model, a fine-tuning run's start). */
  checkpointData(checkpointId: string): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.id = :checkpointId', { checkpointId }));
  }

  /** One ε of a robustness curve: rows keyed (run, ε, attack) and the gallery, rewritten as a whole. */
  async saveRobustnessPoint(
    runId: string,
    view: EvaluationView,
    epsilon: number,
    rows: Array<Pick<RobustnessResult, 'attack' | 'n' | 'cleanCorrect' | 'robustCorrect' | 'seconds' | 'details'>>,
    gallery: Array<Omit<AdversarialExample, 'id' | 'runId' | 'view' | 'epsilon' | 'run'>>,
  ): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em
        .createQueryBuilder()
        .insert()
        .into(RobustnessResult)
        // details is jsonb: TypeORM's deep-partial type does not model an open record.
        .values(rows.map((r) => ({ ...r, runId, view, epsilon, recordedAt: new Date() })) as QueryDeepPartialEntity<RobustnessResult>[])
        .orUpdate(['n', 'clean_correct', 'robust_correct', 'seconds', 'details', 'recorded_at'], ['run_id', 'view', 'epsilon', 'attack'])
        .execute();
      await em.delete(AdversarialExample, { runId, view, epsilon });
      if (gallery.length) await em.insert(AdversarialExample, gallery.map((g) => ({ ...g, runId, view, epsilon })));
    });
  }

  /** The bytes column is not selected by default (megabytes); these queries ask for it. */
  private checkpointWithData(filter: (q: SelectQueryBuilder<Checkpoint>) => SelectQueryBuilder<Checkpoint>): Promise<CheckpointWithData | null> {
    const query = filter(this.dataSource.getRepository(Checkpoint).createQueryBuilder('c').addSelect('c.data'));
    return query.getOne() as Promise<CheckpointWithData | null>;
  }

  /** One row per (run, epoch): rewriting an epoch keeps the checkpoint's id, so references to it stay valid. */
  private async upsertCheckpoint(manager: EntityManager, runId: string, { epoch, data, sha256, format }: CheckpointBytes): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(Checkpoint)
      .values({ runId, epoch, data, sha256, sizeBytes: data.length, format })
      .orUpdate(['data', 'sha256', 'size_bytes', 'format', 'created_at'], ['run_id', 'epoch'])
      .execute();
  }

  private async finish(manager: EntityManager, runId: string, values: Partial<Run>): Promise<boolean> {
    const result = await manager
      .createQueryBuilder()
      .update(Run)
      .set({ ...values, finishedAt: () => 'now()' })
      .where('id = :runId AND status NOT IN (:...terminal)', { runId, terminal: TERMINAL_STATUSES })
      .execute();
    return (result.affected ?? 0) > 0;
  }
}

function succeeded(result?: Record<string, unknown>): Partial<Run> {
  return { status: 'succeeded', progress: 1, error: null, ...(result && { result }) };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
