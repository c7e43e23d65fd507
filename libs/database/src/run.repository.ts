import { DataSource, EntityManager, In, Not, QueryFailedError, SelectQueryBuilder } from 'typeorm';
import type { RunEventBody, RunEventSink, RunKind, RunSpec } from '@bulwark/spec';
import { Checkpoint } from './entities/checkpoint.entity';
import { Metric } from './entities/metric.entity';
import { IDEMPOTENCY_KEY_CONSTRAINT, Run, RunBackend, RunStatus, TERMINAL_STATUSES } from './entities/run.entity';
import { RunEventEmitter } from './run-event-emitter';

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

/** A run as submitted: stored queued, with what it carries from the start. */
export interface NewRun {
  /** The tenant of the key that submitted it. */
  tenantId: string;
  spec: RunSpec;
  idempotencyKey: string | null;
  /** sha256 of the request that created it, to tell a replay from a reused key. */
  requestHash: string;
  /** Lineage: the run and checkpoint the new run derives from. */
  parentRunId: string | null;
  parentCheckpointId: string | null;
  /** Bytes stored as one of its checkpoints in the same transaction (an import's upload, a resumed run's checkpoint). */
  checkpoint?: CheckpointBytes;
  /** Metric points stored with it (a resumed run's epochs so far). */
  metrics?: MetricPoint[];
}

/** A run's crashes without progress after one was counted, and the newest checkpoint they are counted against. */
export interface CrashCount {
  crashes: number;
  /** Null when the run has no checkpoint. */
  checkpointEpoch: number | null;
}

export interface RunFilter {
  tenantId: string;
  status?: RunStatus;
  kind?: RunKind;
  idempotencyKey?: string;
}

export interface EvaluationRunQuery {
  tenantId: string;
  /** Only evaluations of these runs (their parent); all evaluations when absent. */
  sourceRunIds?: string[];
  order: 'newest-first' | 'oldest-first';
  limit?: number;
}

/** Rows per INSERT of metric points: 4 parameters a row, under Postgres's 65,535. */
const METRIC_INSERT_CHUNK = 5000;
const UNIQUE_VIOLATION = '23505';

/**
 * The run aggregate (a run, its metrics and its checkpoints) and every transition of a run's
 * status. Each transition is one guarded UPDATE, so a late or re-delivered job, or a cancel
 * racing a worker, cannot resurrect a run that has ended. A plain class over a DataSource: the
 * worker's sandboxed child processes build one without Nest (DatabaseModule provides it elsewhere).
 * Every change a live view shows (status, progress, metric points, checkpoints) goes to `events`
 * once it has committed; without a sink (scripts, tests of the store alone) nothing is published.
 */
export class RunRepository {
  private readonly events: RunEventEmitter;

  constructor(
    private readonly dataSource: DataSource,
    events?: RunEventSink,
  ) {
    this.events = new RunEventEmitter(dataSource, events);
  }

  find(runId: string, kind?: RunKind): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOneBy({ id: runId, ...(kind && { kind }) });
  }

  /** The API's lookup: a run of another tenant is as absent as one that never existed. */
  findOwned(tenantId: string, runId: string, kind?: RunKind): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOneBy({ id: runId, tenantId, ...(kind && { kind }) });
  }

  /** Idempotency keys are per tenant: two tenants choosing the same key never see each other's run. */
  findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOneBy({ tenantId, idempotencyKey });
  }

  /** Newest first; ties in creation time are broken by id so pages never overlap. */
  async list(filter: RunFilter, page: { limit: number; offset: number }): Promise<{ items: Run[]; total: number }> {
    const [items, total] = await this.dataSource.getRepository(Run).findAndCount({
      where: {
        tenantId: filter.tenantId,
        ...(filter.status && { status: filter.status }),
        ...(filter.kind && { kind: filter.kind }),
        ...(filter.idempotencyKey && { idempotencyKey: filter.idempotencyKey }),
      },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: page.limit,
      skip: page.offset,
    });
    return { items, total };
  }

  findEvaluations({ tenantId, sourceRunIds, order, limit }: EvaluationRunQuery): Promise<Run[]> {
    return this.dataSource.getRepository(Run).find({
      where: { tenantId, kind: 'evaluation', ...(sourceRunIds && { parentRunId: In(sourceRunIds) }) },
      order: { createdAt: order === 'newest-first' ? 'DESC' : 'ASC' },
      ...(limit !== undefined && { take: limit }),
    });
  }

  /** Runs derived from this one's checkpoints (fine-tuned, distilled), oldest first; evaluations are not. */
  findDerived(tenantId: string, runId: string): Promise<Run[]> {
    return this.dataSource.getRepository(Run).find({ where: { tenantId, parentRunId: runId, kind: Not('evaluation') }, order: { createdAt: 'ASC' } });
  }

  /**
   * Stores a run, status queued, with its checkpoint and metrics in one transaction. When another
   * request with the same Idempotency-Key stored its run first, returns that run, not created.
   */
  async createQueued(run: NewRun): Promise<{ run: Run; created: boolean }> {
    const { tenantId, spec, idempotencyKey, requestHash, parentRunId, parentCheckpointId, checkpoint, metrics = [] } = run;
    try {
      const saved = await this.dataSource.transaction(async (em) => {
        const stored = await em.save(
          em.create(Run, { tenantId, kind: spec.kind, status: 'queued', spec, idempotencyKey, requestHash, parentRunId, parentCheckpointId }),
        );
        if (checkpoint) {
          const { epoch, data, sha256, format } = checkpoint;
          await em.insert(Checkpoint, { runId: stored.id, epoch, data, sha256, sizeBytes: data.length, format });
        }
        for (let i = 0; i < metrics.length; i += METRIC_INSERT_CHUNK) {
          await em.insert(
            Metric,
            metrics.slice(i, i + METRIC_INSERT_CHUNK).map((point) => ({ runId: stored.id, ...point })),
          );
        }
        return stored;
      });
      await this.events.emit(saved.id, [{ type: 'status', status: 'queued', error: null }], saved);
      return { run: saved, created: true };
    } catch (err) {
      // Two requests with the same key raced past the caller's lookup: the loser gets the winner's run.
      const driverError = err instanceof QueryFailedError ? (err.driverError as { code?: string; constraint?: string }) : undefined;
      // Only the key's own constraint: any other unique violation is a bug to report, not a replay.
      if (idempotencyKey && driverError?.code === UNIQUE_VIOLATION && driverError.constraint === IDEMPOTENCY_KEY_CONSTRAINT) {
        return { run: await this.dataSource.getRepository(Run).findOneByOrFail({ tenantId, idempotencyKey }), created: false };
      }
      throw err;
    }
  }

  /**
   * Returns the run if it may start (queued, or running after a crash); null if it was cancelled
   * or has ended. `attempt` is the delivery's number as BullMQ counts it (failed attempts and
   * stalls of the job, plus this one); a run re-queued from the queued state counts one more, so
   * `attempts` stays true across a job the reconciler had to enqueue again. The newest checkpoint
   * epoch at the first start is where the crash budget's idea of progress begins.
   */
  async markRunning(runId: string, backend: RunBackend, attempt: number): Promise<Run | null> {
    // A run already running (a retry after a crash, an evaluation woken when its shards are done) does not change status: no event.
    const before = await this.dataSource.getRepository(Run).findOne({ where: { id: runId }, select: { id: true, status: true } });
    const result = await this.dataSource
      .createQueryBuilder()
      .update(Run)
      .set({
        status: 'running',
        backend,
        attempts: () => "GREATEST(attempts + CASE WHEN status = 'queued' THEN 1 ELSE 0 END, :attempt)",
        error: null,
        nextAttemptAt: null,
        crashCheckpointEpoch: () => 'coalesce(crash_checkpoint_epoch, (SELECT coalesce(max(epoch), -1) FROM checkpoints WHERE run_id = :runId))',
        startedAt: () => 'coalesce(started_at, now())',
      })
      .where("id = :runId AND status IN ('queued', 'running') AND cancel_requested_at IS NULL", { runId, attempt })
      .execute();
    if (!result.affected) return null;
    const run = await this.find(runId);
    if (run && before?.status !== 'running') await this.events.emit(runId, [{ type: 'status', status: 'running', error: null }], run);
    return run;
  }

  /**
   * Counts the crashes behind a re-delivered job: BullMQ's stalled counter of the job has gone
   * past what was counted (its worker died, or froze past its lock). A run that wrote a newer
   * checkpoint since the last crash starts its count again at zero. Null when there is nothing
   * new to count (another delivery counted it) or the run has ended.
   */
  async recordStalls(runId: string, stalledCounter: number): Promise<CrashCount | null> {
    return this.countCrash('stalls_counted < $2', [runId, stalledCounter], {
      crashes: '$2 - stalls_counted',
      set: 'stalls_counted = $2',
    });
  }

  /**
   * The reconciler hands a stranded run (running, its job lost or failed on an outage) back to
   * the queue: one crash counted as recordStalls counts it, and the run waits queued for its new
   * job, whose stalled counter starts again at zero. Null when the run has ended meanwhile.
   */
  async requeueStranded(runId: string, reason: string): Promise<CrashCount | null> {
    const error = reason.slice(0, 4000);
    const count = await this.countCrash("cancel_requested_at IS NULL AND status = 'running'", [runId, error], {
      crashes: '1',
      set: "stalls_counted = 0, status = 'queued', error = $2, next_attempt_at = now()",
    });
    if (count) await this.events.emit(runId, [{ type: 'status', status: 'queued', error }]);
    return count;
  }

  /**
   * Runs that are queued or running and unchanged for `graceMs`, oldest change first: what the
   * reconciler checks against their jobs. Younger ones may be between insert and enqueue.
   */
  findUnfinished(graceMs: number, limit: number): Promise<Run[]> {
    return this.dataSource
      .getRepository(Run)
      .createQueryBuilder('r')
      .where("r.status IN ('queued', 'running') AND r.updated_at < now() - make_interval(secs => :seconds)", { seconds: graceMs / 1000 })
      .orderBy('r.updated_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  async setProgress(runId: string, progress: number): Promise<void> {
    const result = await this.dataSource.getRepository(Run).update({ id: runId, status: 'running' }, { progress: clamp01(progress) });
    if (result.affected) await this.events.emit(runId, [{ type: 'progress', progress: clamp01(progress) }]);
  }

  async markSucceeded(runId: string, result?: Record<string, unknown>): Promise<boolean> {
    return this.ended(runId, await this.finish(this.dataSource.manager, runId, succeeded(result)), 'succeeded');
  }

  /**
   * Ends a run as succeeded and writes one of its checkpoints in the same transaction (an
   * import's accepted model replaces its upload): a re-delivered job finds both done or neither.
   */
  async markSucceededWithCheckpoint(runId: string, checkpoint: CheckpointBytes, result?: Record<string, unknown>): Promise<boolean> {
    const stored = await this.dataSource.transaction(async (em) => {
      if (!(await this.finish(em, runId, succeeded(result)))) return null;
      return this.upsertCheckpoint(em, runId, checkpoint);
    });
    if (stored) await this.events.emit(runId, [checkpointEvent(stored, checkpoint)]);
    return this.ended(runId, stored !== null, 'succeeded');
  }

  /** A worker ends its run as cancelled (it saw the cancel flag, or was asked to start a cancelled run). */
  async markCancelled(runId: string): Promise<boolean> {
    return this.ended(runId, await this.finish(this.dataSource.manager, runId, { status: 'cancelled' }), 'cancelled');
  }

  async markFailed(runId: string, error: string): Promise<boolean> {
    const reason = error.slice(0, 4000);
    return this.ended(runId, await this.finish(this.dataSource.manager, runId, { status: 'failed', error: reason }), 'failed', reason);
  }

  /** A failed attempt that BullMQ will retry at `nextAttemptAt`: the run waits again, keeping the reason. */
  async markRetrying(runId: string, error: string, nextAttemptAt: Date): Promise<void> {
    const reason = error.slice(0, 4000);
    const result = await this.dataSource
      .getRepository(Run)
      .update({ id: runId, status: In(['queued', 'running']) }, { status: 'queued', error: reason, nextAttemptAt });
    if (result.affected) await this.events.emit(runId, [{ type: 'status', status: 'queued', error: reason }]);
  }

  /**
   * A user's cancel, in one UPDATE: a queued run ends cancelled at once (no worker may start it:
   * markRunning refuses a flagged run); a running one is flagged, and its worker ends it at the
   * next batch boundary. False when the run has already ended (or does not exist), which stays as it was.
   */
  async requestCancel(runId: string): Promise<boolean> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(Run)
      .set({
        cancelRequestedAt: () => 'coalesce(cancel_requested_at, now())',
        status: () => "CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END",
        finishedAt: () => "CASE WHEN status = 'queued' THEN now() ELSE finished_at END",
      })
      .where("id = :runId AND status IN ('queued', 'running')", { runId })
      .returning(['status'])
      .execute();
    // A queued run ended here; a running one ends (and says so) when its worker sees the flag.
    const rows = result.raw as { status: RunStatus }[];
    if (rows.some((row) => row.status === 'cancelled')) await this.events.emit(runId, [{ type: 'status', status: 'cancelled', error: null }]);
    return (result.affected ?? 0) > 0;
  }

  /**
   * Deletes a run no worker has taken up (queued, never attempted), with the checkpoint and
   * metrics stored with it: the API withdraws a run whose job it could not enqueue. False when a
   * worker has it already (its job was enqueued after all), which then stays.
   */
  async deleteUnstarted(runId: string): Promise<boolean> {
    const result = await this.dataSource.getRepository(Run).delete({ id: runId, status: 'queued', attempts: 0 });
    return (result.affected ?? 0) > 0;
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    const row = await this.dataSource.getRepository(Run).findOne({ where: { id: runId }, select: { id: true, cancelRequestedAt: true, status: true } });
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
    await this.events.emit(
      runId,
      points.map(({ key, step, value }) => ({ type: 'metric', key, step, value })),
    );
  }

  /** A run's metric points, ordered by key then step; one series when `key` is given. */
  metrics(runId: string, key?: string): Promise<Metric[]> {
    return this.dataSource.getRepository(Metric).find({ where: { runId, ...(key && { key }) }, order: { key: 'ASC', step: 'ASC' } });
  }

  async saveCheckpoint(runId: string, epoch: number, data: Buffer, sha256: string, format: string): Promise<void> {
    const stored = await this.upsertCheckpoint(this.dataSource.manager, runId, { epoch, data, sha256, format });
    await this.events.emit(runId, [checkpointEvent(stored, { epoch, data, sha256 })]);
  }

  /** A run's checkpoints in epoch order, without their bytes. */
  checkpoints(runId: string): Promise<Checkpoint[]> {
    return this.dataSource.getRepository(Checkpoint).find({ where: { runId }, order: { epoch: 'ASC' } });
  }

  /** One checkpoint, without its bytes. */
  checkpoint(checkpointId: string): Promise<Checkpoint | null> {
    return this.dataSource.getRepository(Checkpoint).findOneBy({ id: checkpointId });
  }

  /** A run's checkpoint of `epoch`, or its newest when no epoch is given; without its bytes. */
  checkpointOf(runId: string, epoch?: number): Promise<Checkpoint | null> {
    return this.dataSource.getRepository(Checkpoint).findOne({ where: { runId, ...(epoch !== undefined && { epoch }) }, order: { epoch: 'DESC' } });
  }

  /** A run's checkpoint of one epoch, with its bytes. */
  checkpointAt(runId: string, epoch: number): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.run_id = :runId AND c.epoch = :epoch', { runId, epoch }));
  }

  /** The newest checkpoint with its bytes, for resuming a re-delivered job. */
  latestCheckpoint(runId: string): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.run_id = :runId', { runId }).orderBy('c.epoch', 'DESC').limit(1));
  }

  /** The bytes of one checkpoint (an evaluation's model, a fine-tuning run's start, a download). */
  checkpointData(checkpointId: string): Promise<CheckpointWithData | null> {
    return this.checkpointWithData((q) => q.where('c.id = :checkpointId', { checkpointId }));
  }

  /** The bytes column is not selected by default (megabytes); these queries ask for it. */
  private checkpointWithData(filter: (q: SelectQueryBuilder<Checkpoint>) => SelectQueryBuilder<Checkpoint>): Promise<CheckpointWithData | null> {
    const query = filter(this.dataSource.getRepository(Checkpoint).createQueryBuilder('c').addSelect('c.data'));
    return query.getOne();
  }

  /** One row per (run, epoch): rewriting an epoch keeps the checkpoint's id, so references to it stay valid. Returns that id. */
  private async upsertCheckpoint(manager: EntityManager, runId: string, { epoch, data, sha256, format }: CheckpointBytes): Promise<{ id: string }> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(Checkpoint)
      .values({ runId, epoch, data, sha256, sizeBytes: data.length, format })
      .orUpdate(['data', 'sha256', 'size_bytes', 'format', 'created_at'], ['run_id', 'epoch'])
      .returning(['id'])
      .execute();
    return { id: (result.raw as { id: string }[])[0].id };
  }

  /** Says that a run ended, when `changed` (its guarded UPDATE took): an ended run never changes again, so neither does its stream. */
  private async ended(runId: string, changed: boolean, status: RunStatus, error: string | null = null): Promise<boolean> {
    if (changed) await this.events.emit(runId, [{ type: 'status', status, error }]);
    return changed;
  }

  /** One guarded UPDATE that counts a crash against the run's newest checkpoint (see recordStalls); $1 is the run's id. */
  private async countCrash(guard: string, params: unknown[], change: { crashes: string; set: string }): Promise<CrashCount | null> {
    const [rows] = await this.dataSource.query<[{ crashes: number; epoch: number }[], number]>(
      `UPDATE runs SET
         crashes = CASE WHEN newest.epoch > coalesce(crash_checkpoint_epoch, -1) THEN 0 ELSE crashes + ${change.crashes} END,
         crash_checkpoint_epoch = newest.epoch,
         ${change.set},
         updated_at = now()
       FROM (SELECT coalesce(max(epoch), -1) AS epoch FROM checkpoints WHERE run_id = $1) newest
       WHERE id = $1 AND status IN ('queued', 'running') AND ${guard}
       RETURNING crashes, newest.epoch AS epoch`,
      params,
    );
    // Postgres returns no row when the guard refused the change (counted already, ended, cancelled).
    const row = rows.at(0);
    return row ? { crashes: row.crashes, checkpointEpoch: row.epoch < 0 ? null : row.epoch } : null;
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

function checkpointEvent(stored: { id: string }, { epoch, data, sha256 }: Pick<CheckpointBytes, 'epoch' | 'data' | 'sha256'>): RunEventBody {
  return { type: 'checkpoint', checkpointId: stored.id, epoch, sizeBytes: data.length, sha256 };
}

function succeeded(result?: Record<string, unknown>): Partial<Run> {
  return { status: 'succeeded', progress: 1, error: null, ...(result && { result }) };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
