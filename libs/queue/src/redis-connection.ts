import type { ConnectionOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';

/** ioredis options from REDIS_URL, as BullMQ wants them (workers require maxRetriesPerRequest: null). */
export function redisConnectionOptions(redisUrl: string): ConnectionOptions {
  // BullMQ's type names its own client interface; these plain options are what it passes to ioredis.
  return redisClientOptions(redisUrl) as ConnectionOptions;
}

/** The same options typed for a plain ioredis client (worker announcements and their readers). */
export function redisClientOptions(redisUrl: string): RedisOptions {
  const u = new URL(redisUrl);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    db: Number.isInteger(db) ? db : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

/**
 * Options for connections that serve requests (the API's queues and presence reads): while Redis
 * is down a command fails at once instead of waiting in ioredis's offline queue for a reconnect,
 * so a request can be answered 503 at once; while it is frozen, the caller races each command
 * against `timeoutMs`. Not for workers' blocking connections (BullMQ requires those to wait) nor
 * for QueueEvents' blocking reads.
 */
export function failFastRedisOptions(redisUrl: string, timeoutMs: number): RedisOptions {
  return {
    ...redisClientOptions(redisUrl),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    // A backstop that clears commands a frozen Redis never answers. The request's own bound is the
    // caller's race (the API's withinStoreTimeout), which, unlike this timer, waits for a reply that
    // arrived while the event loop was busy.
    commandTimeout: 5 * timeoutMs,
    // Keep trying to come back, but never more than a few seconds apart, so an outage's end is seen soon.
    retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
  };
}
