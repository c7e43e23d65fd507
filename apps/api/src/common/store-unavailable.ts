import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { QueryFailedError } from 'typeorm';

export type StoreName = 'postgres' | 'redis';

/** Seconds a client is told to wait before retrying a request refused while a store is down. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** A request could not be served because one of the API's stores did not answer. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';

  constructor(
    readonly store: StoreName,
    /** What the driver said: logged, never sent to the client (it holds addresses). */
    readonly detail: string,
  ) {
    super(`${store} is unavailable`);
  }
}

/** Node's codes for a connection that could not be made or was lost. */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * What ioredis and BullMQ throw when a command cannot be sent or gets no answer (the API's
 * connections have no offline queue and a command timeout, see failFastRedisOptions).
 */
const REDIS_MESSAGES = [
  /^Stream isn't writeable/,
  /^Connection is closed/,
  /^Command timed out/,
  /^Reached the max retries per request limit/,
  /^redis is unavailable/,
];

/** What node-postgres throws when a connection cannot be made, is lost, or a query gets no answer. */
const POSTGRES_MESSAGES = [
  /^timeout exceeded when trying to connect/,
  /^Connection terminated/,
  /^Query read timeout/,
  /^Client has encountered a connection error/,
  /^terminating connection due to administrator command/,
  /^the database system is (starting up|shutting down|in recovery mode)/,
];

/** SQLSTATE classes and codes of a server that is going away or refuses connections. */
function isPostgresUnavailableCode(code: string): boolean {
  return code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code);
}

/**
 * Which store an error says is down, or undefined for any other error. Socket errors carry the
 * port they failed on: Redis's port names Redis; every other socket error on a request path
 * comes from node-postgres (ioredis reports a lost connection by the messages above).
 */
export function unavailableStore(err: unknown, redisPort: number): StoreName | undefined {
  if (err instanceof StoreUnavailableError) return err.store;
  if (!(err instanceof Error)) return undefined;
  const cause = err instanceof QueryFailedError ? (err.driverError as Error & { code?: string }) : (err as Error & { code?: string; port?: number });
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  const message = typeof cause.message === 'string' ? cause.message : '';
  if (code && SOCKET_ERROR_CODES.has(code)) return (cause as { port?: number }).port === redisPort ? 'redis' : 'postgres';
  if (err.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((re) => re.test(message))) return 'redis';
  if ((code && isPostgresUnavailableCode(code)) || POSTGRES_MESSAGES.some((re) => re.test(message))) return 'postgres';
  return undefined;
}

/**
 * Races `work` against `timeoutMs`; past it, the store counts as down (`work` is left to settle or
 * fail on its own). The timeout gives way to an answer that came while the event loop was busy
 * (another request parsing a large body, say): Node runs due timers before it reads sockets, so
 * a plain timer would call a store down whose answer is already waiting to be read.
 */
export async function withinStoreTimeout<T>(store: StoreName, work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // setImmediate runs after this turn's socket reads, and their promise callbacks.
      immediate = setImmediate(() => reject(new StoreUnavailableError(store, `no answer within ${timeoutMs} ms`)));
    }, timeoutMs);
  });
  // The loser of the race must not become an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  }
}

/** The short, address-free answer for a store that is down. */
export function storeUnavailableBody(store: StoreName): { statusCode: number; message: string; error: string } {
  return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, message: `${store} is unavailable`, error: 'Service Unavailable' };
}

/**
 * Answers any request that failed because Postgres or Redis is down with 503, a message naming
 * the store and Retry-After, wherever the error came from (a controller, a guard, a pipe): the
 * driver's text, which holds addresses, goes to the log only. Every other error goes on to
 * `next`, the filter that handles everything else.
 */
@Catch()
export class StoreUnavailableFilter implements ExceptionFilter {
  private readonly logger = new Logger('StoreUnavailable');

  constructor(
    private readonly next: ExceptionFilter,
    private readonly redisPort: number,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const store = unavailableStore(exception, this.redisPort);
    if (!store || host.getType() !== 'http') {
      this.next.catch(exception, host);
      return;
    }
    const detail = exception instanceof StoreUnavailableError ? exception.detail : exception instanceof Error ? exception.message : String(exception);
    const req = host.switchToHttp().getRequest<{ method?: string; url?: string }>();
    this.logger.warn(`${req.method ?? ''} ${req.url ?? ''}: ${store} is unavailable (${detail})`);
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    res.setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
    res.status(HttpStatus.SERVICE_UNAVAILABLE).json(storeUnavailableBody(store));
  }
}

/** The port of a redis:// URL, as ioredis reads it. */
export function redisPortOf(redisUrl: string): number {
  const port = new URL(redisUrl).port;
  return port ? Number(port) : 6379;
}
