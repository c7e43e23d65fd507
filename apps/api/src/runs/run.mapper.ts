import type { Run } from '@bulwark/database';
import type { RunPageResponse, RunResponse } from './run.response';

/**
 * Field by field, so a column added to the entity reaches clients only when added here.
 * `waitingFor` is computed when the run is read (WorkerPresenceService), not stored; `retry`
 * is shown only while a queued run waits for its next attempt.
 */
export function toRunResponse(run: Run, waitingFor: string | null): RunResponse {
  return {
    id: run.id,
    kind: run.kind,
    status: run.status,
    spec: run.spec,
    parentRunId: run.parentRunId,
    parentCheckpointId: run.parentCheckpointId,
    result: run.result,
    idempotencyKey: run.idempotencyKey,
    backend: run.backend,
    progress: run.progress,
    attempts: run.attempts,
    error: run.error,
    cancelRequestedAt: run.cancelRequestedAt,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    waitingFor,
    retry: run.status === 'queued' && run.nextAttemptAt ? { attempt: run.attempts + 1, reason: run.error ?? '', nextAttemptAt: run.nextAttemptAt } : null,
    crashes: run.crashes,
  };
}

export function toRunPageResponse(
  page: { items: Run[]; total: number; limit: number; offset: number },
  waitReasons: ReadonlyMap<string, string>,
): RunPageResponse {
  return { items: page.items.map((run) => toRunResponse(run, waitReasons.get(run.id) ?? null)), total: page.total, limit: page.limit, offset: page.offset };
}
