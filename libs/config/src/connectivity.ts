import { Client } from 'pg';
import Redis from 'ioredis';

/** Hides the password so a boot error can be printed and logged safely. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return value;
  }
}

/**
 * Probes Postgres and Redis once before Nest starts, so an unreachable service is reported as
 * one line naming it instead of a retry loop of stack traces from the ORM or the queue client.
 */
export async function assertServicesReachable(urls: { databaseUrl: string; redisUrl?: string }, timeoutMs = 5000): Promise<void> {
  const pg = new Client({ connectionString: urls.databaseUrl, connectionTimeoutMillis: timeoutMs });
  try {
    await pg.connect();
    await pg.query('select 1');
  } catch (err) {
    throw new Error(`cannot reach Postgres at ${redactUrl(urls.databaseUrl)} (DATABASE_URL): ${describe(err)}`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  if (!urls.redisUrl) return;
  const redis = new Redis(urls.redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with a generic "Connection is closed"; the cause arrives as an 'error' event.
  let cause: unknown;
  redis.on('error', (err) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`cannot reach Redis at ${redactUrl(urls.redisUrl)} (REDIS_URL): ${describe(cause ?? err)}`);
  } finally {
    redis.disconnect();
  }
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return describe(err.errors[0]);
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
