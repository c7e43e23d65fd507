import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { EvaluationView } from '@bulwark/spec';
import { Run } from './run.entity';

/** A stored adversarial example for the gallery: uint8 pixels of the clean and attacked input. */
@Entity({ name: 'adversarial_examples' })
@Unique('adversarial_examples_uq', ['runId', 'view', 'epsilon', 'exampleIndex'])
export class AdversarialExample {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ type: 'varchar', length: 16, default: 'direct' })
  view: EvaluationView;

  @Column({ type: 'double precision' })
  epsilon: number;

  /** Index into the evaluation's seeded subset of the test split. */
  @Column({ name: 'example_index', type: 'integer' })
  exampleIndex: number;

  /** The attack whose input is stored (the one that broke it, or null if none did). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  attack: string | null;

  @Column({ type: 'integer' })
  label: number;

  @Column({ name: 'clean_prediction', type: 'integer' })
  cleanPrediction: number;

  @Column({ name: 'adversarial_prediction', type: 'integer' })
  adversarialPrediction: number;

  /** [H, W, C] of the pixel buffers. */
  @Column({ type: 'integer', array: true })
  shape: number[];

  @Column({ type: 'bytea', select: false })
  clean: Buffer;

  @Column({ type: 'bytea', select: false })
  adversarial: Buffer;

  @Column({ name: 'linf_norm', type: 'double precision' })
  linfNorm: number;

  @Column({ name: 'l2_norm', type: 'double precision' })
  l2Norm: number;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
