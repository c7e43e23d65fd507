import type { Checkpoint } from '@bulwark/database';
import type { CheckpointResponse, RunCheckpointsResponse } from './checkpoint.response';

/** Metadata only: a checkpoint's bytes never travel in JSON. */
export function toCheckpointResponse(checkpoint: Checkpoint): CheckpointResponse {
  return {
    id: checkpoint.id,
    runId: checkpoint.runId,
    epoch: checkpoint.epoch,
    sha256: checkpoint.sha256,
    sizeBytes: checkpoint.sizeBytes,
    format: checkpoint.format,
    createdAt: checkpoint.createdAt,
  };
}

export function toRunCheckpointsResponse(runId: string, checkpoints: Checkpoint[]): RunCheckpointsResponse {
  return { runId, items: checkpoints.map(toCheckpointResponse) };
}
