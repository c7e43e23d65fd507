import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { EvaluationView } from '@bulwark/spec';
import { Run, type RunBackend } from './run.entity';

/**
 * One shard of an evaluation (one view, one range of its examples): planned by the parent job,
 * then its per-example results as the shard's job computed them, which the parent merges into
 * the view's curve. The results are written once, so a finished shard is never computed again.
 */
@Entity({ name: 'evaluation_shards' })
export class EvaluationShard {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  view: EvaluationView;

  @PrimaryColumn({ name: 'shard_index', type: 'integer' })
  shardIndex: number;

  /** The shard's first example and its number of examples, in the evaluation's seeded subset. */
  @Column({ type: 'integer' })
  start: number;

  @Column({ type: 'integer' })
  size: number;

  /** The shard's per-example results (libs/evaluation's ShardResult), plain JSON; null until it finished. */
  @Column({ type: 'jsonb', nullable: true, select: false })
  result: unknown;

  /** Wall-clock seconds the shard took on its worker. */
  @Column({ type: 'double precision', nullable: true })
  seconds: number | null;

  /** The backend of the worker that computed it. */
  @Column({ type: 'jsonb', nullable: true })
  backend: RunBackend | null;

  @Column({ name: 'planned_at', type: 'timestamptz', default: () => 'now()' })
  plannedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
