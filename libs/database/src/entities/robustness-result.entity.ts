import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { EvaluationView } from '@bulwark/spec';
import { Run } from './run.entity';

/**
 * One point of a robustness curve: an attack (or 'suite', the per-example worst case over all
 * attacks of the evaluation) at one ε, measured on n examples. Counts, not just fractions, so
 * every accuracy says on how many examples it was measured. Keyed for upserts on re-delivery.
 */
@Entity({ name: 'robustness_results' })
export class RobustnessResult {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  /** 'direct' (an undefended model), or a defense attacked 'naive'ly or 'adaptive'ly. */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'direct' })
  view: EvaluationView;

  @PrimaryColumn({ type: 'double precision' })
  epsilon: number;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  attack: string;

  @Column({ type: 'integer' })
  n: number;

  @Column({ name: 'clean_correct', type: 'integer' })
  cleanCorrect: number;

  /** Correct on the clean input AND on the attack's adversarial input. */
  @Column({ name: 'robust_correct', type: 'integer' })
  robustCorrect: number;

  @Column({ type: 'double precision' })
  seconds: number;

  /** The attack's resolved hyperparameters and per-stage reports. */
  @Column({ type: 'jsonb', default: {} })
  details: Record<string, unknown>;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt: Date;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;
}
