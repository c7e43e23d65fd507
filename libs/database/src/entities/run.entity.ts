import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import type { RunKind, RunSpec, RunStatus } from '@bulwark/spec';

export type { RunStatus } from '@bulwark/spec';
/** A run in one of these states never changes again. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The compute backend a run actually used, recorded by the worker when it starts. */
export interface RunBackend {
  name: string;
  tfjsVersion: string;
  threads: number;
  /** Whether it computed on a GPU; absent on runs recorded before GPU workers existed. */
  gpu?: boolean;
  /** webgpu only: the adapter Dawn chose. */
  adapter?: { vendor: string; architecture: string; device: string; description: string; route: string; software: boolean };
}

/** The unique constraint on (tenant, Idempotency-Key): a violation of it is a replay race, not a bug. */
export const IDEMPOTENCY_KEY_CONSTRAINT = 'runs_tenant_idempotency_key_uq';

@Entity({ name: 'runs' })
@Index('runs_status_created_idx', ['status', 'createdAt'])
@Index('runs_tenant_created_idx', ['tenantId', 'createdAt'])
@Unique(IDEMPOTENCY_KEY_CONSTRAINT, ['tenantId', 'idempotencyKey'])
export class Run {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The tenant that owns the run (and its metrics, checkpoints and evaluations); the API never shows it to another. */
  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ type: 'varchar', length: 32 })
  kind: RunKind;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status: RunStatus;

  @Column({ type: 'jsonb' })
  spec: RunSpec;

  /** Lineage: the run and checkpoint this run derives from (the model an evaluation measures). */
  @Column({ name: 'parent_run_id', type: 'uuid', nullable: true })
  parentRunId: string | null;

  @Column({ name: 'parent_checkpoint_id', type: 'uuid', nullable: true })
  parentCheckpointId: string | null;

  /** What the job produced, in brief (an evaluation's validity flags, a training run's last epoch). */
  @Column({ type: 'jsonb', nullable: true })
  result: Record<string, unknown> | null;

  /** Unique per tenant. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey: string | null;

  /** sha256 of the request body that created the run, to refuse a reused key with another body. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash: string | null;

  @Column({ type: 'jsonb', nullable: true })
  backend: RunBackend | null;

  /** Fraction of the run's batches done, 0..1. */
  @Column({ type: 'real', default: 0 })
  progress: number;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** Crashes (a job lost with its worker) since the run last wrote a new checkpoint; CRASH_BUDGET bounds them. */
  @Column({ type: 'integer', default: 0 })
  crashes: number;

  /** The newest checkpoint epoch when the run first started or last crashed (-1: none): a newer one is progress. */
  @Column({ name: 'crash_checkpoint_epoch', type: 'integer', nullable: true })
  crashCheckpointEpoch: number | null;

  /** BullMQ's stalled counter of the run's current job, as far as crashes have been counted from it. */
  @Column({ name: 'stalls_counted', type: 'integer', default: 0 })
  stallsCounted: number;

  /** While a failed attempt waits for its retry: when the next attempt is due. */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'cancel_requested_at', type: 'timestamptz', nullable: true })
  cancelRequestedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
