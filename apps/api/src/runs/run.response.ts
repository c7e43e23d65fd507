import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RUN_KINDS, RUN_STATUSES, RunKind, RunSpec, RunStatus } from '@bulwark/spec';

export class RunBackendResponse {
  @ApiProperty({ example: 'wasm', description: 'The TensorFlow.js backend the worker used' })
  name: string;

  @ApiProperty({ example: '4.22.0' })
  tfjsVersion: string;

  @ApiProperty()
  threads: number;

  @ApiPropertyOptional({ description: 'Whether it computed on a GPU (absent on runs recorded before GPU workers existed)' })
  gpu?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'webgpu only: the adapter Dawn chose (vendor, architecture, device, description, route, software)',
  })
  adapter?: Record<string, unknown>;
}

/** A run waiting for its next attempt after a failed one (an outage, a crash the reconciler found). */
export class RunRetryResponse {
  @ApiProperty({ description: 'The attempt that comes next (attempts so far plus one)' })
  attempt: number;

  @ApiProperty({ example: 'attempt 2 of 10 failed: Postgres is unreachable', description: 'Why the last attempt ended' })
  reason: string;

  @ApiProperty({ description: 'When the next attempt is due (a worker must be free to take it)' })
  nextAttemptAt: Date;
}

/** A run as the API shows it: every column but the request hash behind idempotent replays. */
export class RunResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: RUN_KINDS })
  kind: RunKind;

  @ApiProperty({ enum: RUN_STATUSES })
  status: RunStatus;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The spec as resolved at submission, every default filled in: exactly what runs' })
  spec: RunSpec;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Lineage: the run this one derives from (the model it fine-tunes, distils or evaluates)',
  })
  parentRunId: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Lineage: the checkpoint of that run it starts from' })
  parentCheckpointId: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "What the job produced, in brief (an evaluation's validity flags, an import's accuracy)",
  })
  result: Record<string, unknown> | null;

  @ApiProperty({ type: String, nullable: true })
  idempotencyKey: string | null;

  @ApiProperty({ type: RunBackendResponse, nullable: true, description: 'Recorded by the worker when the run starts' })
  backend: RunBackendResponse | null;

  @ApiProperty({ minimum: 0, maximum: 1, description: "Fraction of the run's work done" })
  progress: number;

  @ApiProperty({ description: "Deliveries of the run's job so far (retries included)" })
  attempts: number;

  @ApiProperty({ type: String, nullable: true, description: 'Why the run failed, or why its last attempt did while it waits for a retry' })
  error: string | null;

  @ApiProperty({ type: Date, nullable: true })
  cancelRequestedAt: Date | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;

  @ApiProperty({ type: Date, nullable: true })
  startedAt: Date | null;

  @ApiProperty({ type: Date, nullable: true })
  finishedAt: Date | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'no worker with a GPU is connected; the run waits in queue training-gpu until one is',
    description: 'Why a queued run cannot start yet, where the API can tell (a run that requires a GPU while no GPU worker consumes its queue)',
  })
  waitingFor: string | null;

  @ApiProperty({
    type: RunRetryResponse,
    nullable: true,
    description: 'While a queued run waits to retry after a failed or lost attempt: which attempt, why, and when; null otherwise',
  })
  retry: RunRetryResponse | null;

  @ApiProperty({ description: 'Crashes of its worker since the run last wrote a new checkpoint; past CRASH_BUDGET the run fails' })
  crashes: number;
}

export class RunPageResponse {
  @ApiProperty({ type: [RunResponse] })
  items: RunResponse[];

  @ApiProperty({ description: 'Runs matching the filters, over all pages' })
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}
