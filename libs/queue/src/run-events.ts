import { Redis } from 'ioredis';
import { failFastRedisOptions } from './redis-connection';
import { RUN_EVENT_TYPES, RUN_KINDS, type RunEvent, type RunEventSink } from '@bulwark/spec';

/**
 * Where run events live in Redis: one stream per tenant, under the queue prefix beside BullMQ's
 * keys (no queue is named "events"). Per tenant rather than one global stream filtered per
 * reader: GET /events reads exactly its tenant's stream (no other tenant's entry is ever read,
 * let alone sent), a reader never wakes for other tenants' traffic, and one busy tenant's events
 * cannot trim away another's history before its clients resume. A run's stream is its tenant's,
 * filtered by run id.
 */
export function runEventStreamKey(prefix: string, tenantId: string): string {
  return `${prefix}:events:${tenantId}`;
}

/** Entries kept per tenant stream (approximately: XADD MAXLEN ~): about an hour of a busy tenant's events, seconds of Redis memory. */
export const RUN_EVENT_STREAM_MAXLEN = 10_000;

/** A stream entry id ("ms-seq"), as SSE ids carry it and Last-Event-ID sends it back; "0" means from the start. */
export function isStreamEntryId(value: string): boolean {
  return /^(0|\d{1,20}-\d{1,20})$/.test(value);
}

/** Stream entry ids in stream order: negative when `a` comes first. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = 0n] = a.split('-').map(BigInt);
  const [bm, bs = 0n] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The fields of a stream entry: the run and type stand apart so a reader can filter without parsing, the event itself as JSON. */
export function encodeRunEvent(event: RunEvent): string[] {
  return ['run', event.runId, 'type', event.type, 'event', JSON.stringify(event)];
}

/**
 * The event of a stream entry, or undefined for one this release cannot read (written by a newer
 * one, or damaged): a reader skips it rather than sending clients what the contract does not declare.
 */
export function decodeRunEvent(fields: readonly string[]): RunEvent | undefined {
  const json = fieldOf(fields, 'event');
  if (json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const event = parsed as Partial<RunEvent>;
  const known = typeof event.type === 'string' && (RUN_EVENT_TYPES as readonly string[]).includes(event.type);
  const kind = typeof event.kind === 'string' && (RUN_KINDS as readonly string[]).includes(event.kind);
  if (!known || !kind || typeof event.runId !== 'string' || typeof event.at !== 'string' || event.runId !== fieldOf(fields, 'run')) return undefined;
  return parsed as RunEvent;
}

/** The run id of an entry without parsing its JSON (a run's stream skips its tenant's other runs). */
export function runIdOfEntry(fields: readonly string[]): string | undefined {
  return fieldOf(fields, 'run');
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** A worker's publish that gets no answer within this long is dropped: a run never waits on its live view. */
export const WORKER_PUBLISH_TIMEOUT_MS = 2000;

/**
 * Appends events to their tenant's stream. Never rejects: Postgres holds what the event reports,
 * so a publish that fails (Redis down or slow: give it a fail-fast connection) is logged, once
 * per outage, and the run goes on.
 */
export class RedisRunEventPublisher implements RunEventSink {
  private failing = false;
  private ready: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly log: (line: string) => void,
    /** How long a publish waits for the connection to come up (a fail-fast client refuses commands until then). */
    private readonly connectTimeoutMs = WORKER_PUBLISH_TIMEOUT_MS,
  ) {}

  publish(tenantId: string, event: RunEvent): Promise<void> {
    const sent = this.send(tenantId, event).finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
    return sent;
  }

  /** Resolves once every publish begun so far has been answered or given up. */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async send(tenantId: string, event: RunEvent): Promise<void> {
    try {
      await this.connected();
      await this.client.xadd(runEventStreamKey(this.prefix, tenantId), 'MAXLEN', '~', RUN_EVENT_STREAM_MAXLEN, '*', ...encodeRunEvent(event));
      if (this.failing) this.log('run events: publishing again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log(`run events: cannot publish (${(err as Error).message}); events are dropped until Redis answers, runs go on`);
      this.failing = true;
    }
  }

  /** A process's first events come right after it connected: wait for the connection once rather than lose them. */
  private connected(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    this.ready ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`redis did not connect within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    }).finally(() => {
      this.ready = undefined;
    });
    return this.ready;
  }
}

/**
 * A publisher on its own fail-fast connection, for a process whose writes must not wait on Redis
 * (the worker's processes, the API's requests): its sink hands each event to the connection and
 * returns at once, without waiting for Redis's answer. Events still reach Redis in the order they
 * were published (one connection sends its commands in order). `close` lets what is in flight
 * finish (each publish gives up within `timeoutMs`) before the connection goes.
 */
export function connectRunEventPublisher(
  redisUrl: string,
  prefix: string,
  log: (line: string) => void,
  timeoutMs = WORKER_PUBLISH_TIMEOUT_MS,
): { sink: RunEventSink; close: () => Promise<void> } {
  const client = new Redis({ ...failFastRedisOptions(redisUrl, timeoutMs), connectionName: 'bulwark-run-events' });
  // Failures surface (once per outage) through publish; the client's own error events would only repeat them.
  client.on('error', () => undefined);
  const publisher = new RedisRunEventPublisher(client, prefix, log, timeoutMs);
  return {
    sink: {
      publish: (tenantId, event) => {
        void publisher.publish(tenantId, event);
        return Promise.resolve();
      },
    },
    close: async () => {
      await publisher.settled();
      await client.quit().then(
        () => undefined,
        () => client.disconnect(),
      );
    },
  };
}
