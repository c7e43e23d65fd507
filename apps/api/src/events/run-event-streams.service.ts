import { BadRequestException, BeforeApplicationShutdown, HttpException, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Redis } from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import { compareStreamIds, decodeRunEvent, failFastRedisOptions, isStreamEntryId, runEventStreamKey, runIdOfEntry } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError, withinStoreTimeout } from '../common/store-unavailable';
import type { RunEventGap } from '@bulwark/spec';
import { sseComment, sseEvent, sseGap, sseRetry } from './sse-framing';

/** A blocking read returns after this long without events, and the stream gets a heartbeat comment. */
export const HEARTBEAT_MS = 15_000;
/** Entries read per round trip, while replaying and following alike. */
const READ_COUNT = 500;
/** What an EventSource-style client waits before reconnecting when a stream ends (API shutdown, Redis gone). */
const RECONNECT_MS = 2000;

/** What one stream shows: its tenant's events, or one run's of them, after `after` (a stream entry id). */
export interface StreamRequest {
  keyId: string;
  tenantId: string;
  runId?: string;
  lastEventId?: string;
}

/**
 * Streams run events from Redis to SSE clients. Each open stream has its own Redis connection
 * for its blocking XREAD, rather than one shared reader fanning out: a blocked connection serves
 * one reader anyway, a slow client then only ever delays itself (its reads wait for its socket
 * to drain), and closing a stream is closing its connection. Connections are bounded per API key
 * (EVENT_STREAMS_PER_KEY) so one key cannot exhaust Redis's connections.
 */
@Injectable()
export class RunEventStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunEventStreams.name);
  private readonly open = new Map<string, Set<Redis>>();
  private closing = false;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** Where a stream starts: Last-Event-ID (header, or `lastEventId` where a client cannot send headers), checked. */
  static resumeFrom(header: string | undefined, query: string | undefined): string | undefined {
    const value = header ?? query;
    if (value === undefined || value === '') return undefined;
    if (!isStreamEntryId(value)) {
      throw new BadRequestException(`Last-Event-ID must be the id of an event this API sent ("<ms>-<seq>") or "0" for the start (got "${value.slice(0, 64)}")`);
    }
    return value;
  }

  /**
   * Answers the request with the stream, until the client goes or the API shuts down. Fails
   * before anything is sent (so the error filters answer: 429, or 503 when Redis does not answer).
   */
  async serve(stream: StreamRequest, req: Request, res: Response): Promise<void> {
    if (this.closing) throw new StoreUnavailableError('redis', 'the API is shutting down');
    const held = this.open.get(stream.keyId) ?? new Set<Redis>();
    if (held.size >= this.config.eventStreamsPerKey) {
      throw new HttpException(
        `this API key holds ${held.size} open event streams on this API instance, the most EVENT_STREAMS_PER_KEY allows; close one first`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const key = runEventStreamKey(this.config.queuePrefix, stream.tenantId);
    // No reconnects: a stream whose connection drops ends, and its client resumes with Last-Event-ID.
    const redis = new Redis({
      ...failFastRedisOptions(this.config.redisUrl, this.config.storeTimeoutMs),
      commandTimeout: HEARTBEAT_MS + this.config.storeTimeoutMs,
      retryStrategy: () => null,
      lazyConnect: true,
      connectionName: 'bulwark-api-events',
    });
    redis.on('error', () => undefined);
    held.add(redis);
    this.open.set(stream.keyId, held);
    const release = () => {
      held.delete(redis);
      if (!held.size && this.open.get(stream.keyId) === held) this.open.delete(stream.keyId);
      redis.disconnect();
    };

    let cursor: string;
    let gap: RunEventGap | undefined;
    try {
      await withinStoreTimeout('redis', redis.connect(), this.config.storeTimeoutMs);
      // A run's stream replays the run's retained history; the tenant's starts at its newest entry, so nothing written from now on is missed.
      cursor = stream.lastEventId ?? (stream.runId ? '0' : await this.newestId(redis, key));
      if (stream.lastEventId) gap = await this.gapAfter(redis, key, stream.lastEventId);
    } catch (err) {
      release();
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('redis', (err as Error).message);
    }

    let left = false;
    // Read through a call: the loop checks, after each await, what the close handler wrote meanwhile.
    const gone = () => left || this.isClosing();
    const end = () => {
      left = true;
      release();
    };
    req.on('close', end);
    // A client that left while the stream was being set up has already closed: nothing will say so again.
    if (req.socket.destroyed) end();
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx and similar proxies buffer responses unless told not to; events would arrive in bursts.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    await this.write(res, sseRetry(RECONNECT_MS) + sseComment('connected') + (gap ? sseGap(gap) : ''));

    let wroteAt = Date.now();
    try {
      while (!gone()) {
        const reply = await redis.xread('COUNT', READ_COUNT, 'BLOCK', HEARTBEAT_MS, 'STREAMS', key, cursor);
        if (gone()) break;
        const entries = reply?.[0]?.[1] ?? [];
        let chunk = '';
        for (const [id, fields] of entries) {
          cursor = id;
          if (stream.runId && runIdOfEntry(fields) !== stream.runId) continue;
          const event = decodeRunEvent(fields);
          if (event) chunk += sseEvent(id, event);
        }
        // A run's stream skips its tenant's other runs: busy as the tenant may be, this one can be quiet for long.
        if (!chunk && (!entries.length || Date.now() - wroteAt >= HEARTBEAT_MS)) chunk = sseComment('keep-alive');
        if (chunk) {
          await this.write(res, chunk);
          wroteAt = Date.now();
        }
      }
    } catch (err) {
      // The client left (its connection closed under the read) or Redis went: either way the stream ends here.
      if (!gone()) this.logger.warn(`event stream of tenant ${stream.tenantId} ended: ${(err as Error).message}`);
    } finally {
      req.off('close', end);
      release();
      // Shutting down, the connection goes too: kept alive, it would hold the HTTP server's close for its keep-alive timeout.
      const socket = req.socket;
      if (this.isClosing()) res.end(() => socket.destroy());
      else res.end();
    }
  }

  /** Ends every open stream so the HTTP server can close (clients reconnect to another replica with Last-Event-ID). */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const held of this.open.values()) for (const redis of held) redis.disconnect();
    this.open.clear();
  }

  /** Read through a call: `closing` changes while a stream awaits. */
  private isClosing(): boolean {
    return this.closing;
  }

  /**
   * Whether events after `after` may be gone: it is older than the oldest entry retained, so it was
   * trimmed (MAXLEN), and so was whatever followed it before that entry. "0" asks for what is retained.
   */
  private async gapAfter(redis: Redis, key: string, after: string): Promise<RunEventGap | undefined> {
    if (after === '0') return undefined;
    const oldest = (await redis.xrange(key, '-', '+', 'COUNT', 1)).at(0)?.[0];
    return oldest !== undefined && compareStreamIds(after, oldest) < 0 ? { type: 'gap', after, oldest } : undefined;
  }

  private async newestId(redis: Redis, key: string): Promise<string> {
    const newest = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    return newest[0]?.[0] ?? '0';
  }

  /** Writes, waiting for the socket to drain when it is full: a slow client reads its backlog from Redis, not from this process's memory. */
  private async write(res: Response, text: string): Promise<void> {
    if (res.destroyed || res.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}
