import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Run } from './run.entity';

/** Weights + optimizer state + epoch + RNG state after an epoch; one per (run, epoch). */
@Entity({ name: 'checkpoints' })
@Unique('checkpoints_run_epoch_uq', ['runId', 'epoch'])
export class Checkpoint {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ type: 'integer' })
  epoch: number;

  /** The serialized checkpoint (see @bulwark/training's checkpoint format). Not selected by default: it is megabytes. */
  @Column({ type: 'bytea', select: false })
  data: Buffer;

  @Column({ type: 'char', length: 64 })
  sha256: string;

  @Column({ name: 'size_bytes', type: 'integer' })
  sizeBytes: number;

  @Column({ type: 'varchar', length: 32 })
  format: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
