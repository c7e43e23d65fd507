import { DataSource, EntityManager, In, IsNull, Not } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { EvaluationView, RunEventSink } from '@bulwark/spec';
import { AdversarialExample } from './entities/adversarial-example.entity';
import { RobustnessResult } from './entities/robustness-result.entity';
import { EvaluationShard } from './entities/evaluation-shard.entity';
import { Run, type RunBackend } from './entities/run.entity';
import { RunEventEmitter } from './run-event-emitter';

export type RobustnessRow = Pick<RobustnessResult, 'attack' | 'n' | 'cleanCorrect' | 'robustCorrect' | 'seconds' | 'details'>;
export type GalleryExample = Omit<AdversarialExample, 'id' | 'runId' | 'view' | 'epsilon' | 'run'>;
export type AdversarialExampleWithPixels = AdversarialExample & { clean: Buffer; adversarial: Buffer };

/** One shard of an evaluation as its parent job plans it. */
export interface PlannedShardRecord {
  view: EvaluationView;
  shardIndex: number;
  start: number;
  size: number;
}

/** A finished shard as its job stores it. */
export interface ShardRecord {
  view: EvaluationView;
  shardIndex: number;
  result: unknown;
  seconds: number;
  backend: RunBackend;
}

/** Shards of one evaluation: planned, and finished (results stored). */
export interface ShardCounts {
  done: number;
  total: number;
}

/**
 * What an evaluation run measured: its robustness curve, keyed (run, view, ε, attack), and its
 * gallery of adversarial examples. A plain class over a DataSource, like RunRepository.
 */
export class EvaluationResultRepository {
  private readonly events: RunEventEmitter;

  /** `events` hears of each stored shard (see RunRepository). */
  constructor(
    private readonly dataSource: DataSource,
    events?: RunEventSink,
  ) {
    this.events = new RunEventEmitter(dataSource, events);
  }

  /** One ε of a robustness curve: rows upserted and the gallery rewritten as a whole, so a re-delivered job never duplicates them. */
  async saveRobustnessPoint(runId: string, view: EvaluationView, epsilon: number, rows: RobustnessRow[], gallery: GalleryExample[]): Promise<void> {
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
      if (gallery.length)
        await em.insert(
          AdversarialExample,
          gallery.map((g) => ({ ...g, runId, view, epsilon })),
        );
    });
  }

  /** Records an evaluation's shards; planning them again (a re-delivered parent) keeps what is stored. */
  async planShards(runId: string, shards: PlannedShardRecord[]): Promise<void> {
    if (!shards.length) return;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(EvaluationShard)
      .values(shards.map((s) => ({ ...s, runId })))
      .orIgnore()
      .execute();
  }

  /**
   * Stores a planned shard's results once (a second store of the same shard changes nothing)
   * and, in the same transaction, sets the run's progress to `share` × the fraction of its shards
   * finished. The run row is locked first so that concurrent shards of one run count each other
   * and progress never goes back. True when this call stored it.
   */
  async saveShard(runId: string, shard: ShardRecord, share = 1): Promise<boolean> {
    const saved = await this.dataSource.transaction(async (em) => {
      await em.query('SELECT 1 FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      const [rows]: [unknown[], number] = await em.query(
        `UPDATE evaluation_shards SET result = $4, seconds = $5, backend = $6, finished_at = now()
         WHERE run_id = $1 AND view = $2 AND shard_index = $3 AND result IS NULL RETURNING shard_index`,
        [runId, shard.view, shard.shardIndex, JSON.stringify(shard.result), shard.seconds, JSON.stringify(shard.backend)],
      );
      const { done, total } = (await this.countShards(em, [runId])).get(runId) ?? { done: 0, total: 0 };
      const progress = Math.min(1, (share * done) / total);
      const moved = total > 0 && ((await em.update(Run, { id: runId, status: 'running' }, { progress })).affected ?? 0) > 0;
      return { stored: rows.length > 0, done, total, progress: moved ? progress : undefined };
    });
    if (saved.stored) {
      const { done, total, progress } = saved;
      await this.events.emit(runId, [
        { type: 'shard', view: shard.view, index: shard.shardIndex, done, total },
        ...(progress === undefined ? [] : [{ type: 'progress' as const, progress }]),
      ]);
    }
    return saved.stored;
  }

  /** Whether a shard's results are stored. */
  async isShardStored(runId: string, view: EvaluationView, shardIndex: number): Promise<boolean> {
    return this.dataSource.getRepository(EvaluationShard).existsBy({ runId, view, shardIndex, finishedAt: Not(IsNull()) });
  }

  /** A run's shards without their results (the API's counts, the tests' checks), by view then index. */
  shards(runId: string): Promise<EvaluationShard[]> {
    return this.dataSource.getRepository(EvaluationShard).find({ where: { runId }, order: { view: 'ASC', shardIndex: 'ASC' } });
  }

  /** Planned and finished shards per run, for the runs that have any. */
  shardCounts(runIds: string[]): Promise<Map<string, ShardCounts>> {
    return this.countShards(this.dataSource.manager, runIds);
  }

  /** One view's finished shards with their results, by index. */
  shardResults(runId: string, view: EvaluationView): Promise<(EvaluationShard & { result: unknown })[]> {
    return this.dataSource
      .getRepository(EvaluationShard)
      .createQueryBuilder('s')
      .addSelect('s.result')
      .where('s.run_id = :runId AND s.view = :view AND s.finished_at IS NOT NULL', { runId, view })
      .orderBy('s.shard_index', 'ASC')
      .getMany();
  }

  private async countShards(em: EntityManager, runIds: string[]): Promise<Map<string, ShardCounts>> {
    if (!runIds.length) return new Map();
    const rows: { run_id: string; done: number; total: number }[] = await em.query(
      `SELECT run_id, count(finished_at)::int AS done, count(*)::int AS total FROM evaluation_shards WHERE run_id = ANY($1) GROUP BY run_id`,
      [runIds],
    );
    return new Map(rows.map((r) => [r.run_id, { done: r.done, total: r.total }]));
  }

  /** One evaluation's rows, by ε then attack. */
  results(runId: string): Promise<RobustnessResult[]> {
    return this.dataSource.getRepository(RobustnessResult).find({ where: { runId }, order: { epsilon: 'ASC', attack: 'ASC' } });
  }

  /** The rows of several evaluations, in no particular order (curves sort them by ε). */
  async resultsOf(runIds: string[]): Promise<RobustnessResult[]> {
    return runIds.length ? this.dataSource.getRepository(RobustnessResult).findBy({ runId: In(runIds) }) : [];
  }

  /** One evaluation's gallery with its pixels, by ε then example. */
  gallery(runId: string): Promise<AdversarialExampleWithPixels[]> {
    return this.dataSource
      .getRepository(AdversarialExample)
      .createQueryBuilder('e')
      .addSelect(['e.clean', 'e.adversarial'])
      .where('e.run_id = :runId', { runId })
      .orderBy('e.epsilon', 'ASC')
      .addOrderBy('e.example_index', 'ASC')
      .getMany();
  }
}
