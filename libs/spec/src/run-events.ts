import type { EvaluationView } from './evaluation-run.schema';
import type { RunKind, RunStatus } from './vocabulary';

/**
 * The live events of a run, as the API streams them (Server-Sent Events) and as workers and the
 * API append them to Redis: declared here, in the lowest layer, because the database lib emits
 * them, the queue lib stores them and the API, the dashboard and the CLI read them. Every event
 * is a small JSON object that reports a Postgres write that has already succeeded; Postgres stays
 * the truth, so a client that missed events re-reads the run over REST.
 *
 * On the wire (one SSE message per event; `id` is the event's Redis stream entry id, what
 * `Last-Event-ID` resumes after):
 *
 *     id: 1764700000123-0
 *     event: progress
 *     data: {"type":"progress","runId":"…","kind":"train","at":"2026-12-06T14:30:00.000Z","progress":0.42}
 */
export type RunEventBody =
  /** The run's status changed. `error` is the reason of a failure, or of a retry (queued again). */
  | { type: 'status'; status: RunStatus; error: string | null }
  /** Fraction 0..1 of the run done, as written to the run row (about once a second at most). */
  | { type: 'progress'; progress: number }
  /** One metric point, as GET /runs/:id/metrics lists it; a re-delivered job may write a point again. */
  | { type: 'metric'; key: string; step: number; value: number }
  /** A checkpoint was written (or rewritten: same id); download it at /runs/:runId/checkpoints/:checkpointId. */
  | { type: 'checkpoint'; checkpointId: string; epoch: number; sizeBytes: number; sha256: string }
  /** An evaluation shard's results were stored: `done` of `total` shards of the run are finished. */
  | { type: 'shard'; view: EvaluationView; index: number; done: number; total: number };

export type RunEventType = RunEventBody['type'];
export const RUN_EVENT_TYPES: readonly RunEventType[] = ['status', 'progress', 'metric', 'checkpoint', 'shard'];

/** An event as streamed: what happened, to which run, when (ISO 8601, the writer's clock). */
export type RunEvent = RunEventBody & { runId: string; kind: RunKind; at: string };

/**
 * Sent (as `event: gap`, without an id) right after a stream opens when its Last-Event-ID is older
 * than the oldest event the stream still retains: events after it may have been trimmed away, so
 * the client re-reads what it shows over REST. `oldest` is the id of the oldest retained event.
 */
export interface RunEventGap {
  type: 'gap';
  after: string;
  oldest: string;
}

/**
 * Where the run repositories hand their events once a write has committed. Implementations
 * (a Redis stream in @bulwark/queue) never reject: a lost event must not fail the write it reports.
 */
export interface RunEventSink {
  publish(tenantId: string, event: RunEvent): Promise<void>;
}

/** The sink of a process that streams nothing (scripts, tests of the database alone). */
export const NO_RUN_EVENTS: RunEventSink = { publish: () => Promise.resolve() };
