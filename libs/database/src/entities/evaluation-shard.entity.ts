import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { EvaluationView } from '@bulwark/spec';
import { Run, type RunBackend } from './run.entity';

/**
 * The per-example results of one shard of an evaluation (one view, one range of its examples),
 * as the shard's job computed them: the parent job merges a view's shards into its curve. Written
 * once, keyed (run, view, shard), so a finished shard is never computed again.
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

  /** The shard's per-example results (libs/evaluation's ShardResult), plain JSON. */
  @Column({ type: 'jsonb', select: false })
  result: unknown;

  /** Wall-clock seconds the shard took on its worker. */
  @Column({ type: 'double precision' })
  seconds: number;

  /** The backend of the worker that computed it. */
  @Column({ type: 'jsonb' })
  backend: RunBackend;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
