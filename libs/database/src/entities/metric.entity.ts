import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Run } from './run.entity';

/**
 * One point of a run's time series. The primary key (run_id, key, step) makes writes
 * upserts: a re-delivered job rewrites its points instead of duplicating them.
 */
@Entity({ name: 'metrics' })
export class Metric {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  key: string;

  @PrimaryColumn({ type: 'integer' })
  step: number;

  @Column({ type: 'double precision' })
  value: number;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt: Date;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
