import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import { redisClientOptions } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError, withinStoreTimeout } from '../common/store-unavailable';
import type { RateLimitClass } from './rate-limit';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A count that Redis does not answer in this long is given up: a rate limit must never be why a request hangs. */
const COMMAND_TIMEOUT_MS = 500;
/**
 * ioredis's own timeout only clears commands a frozen Redis never answers. It is not the bound a
 * request waits: its timer fires before a reply that came while the event loop was busy is read.
 */
const COMMAND_BACKSTOP_MS = 10 * COMMAND_TIMEOUT_MS;
const SUBMITS: RateLimitClass = 'submits';

/**
 * Hit counts in Redis, so every API replica counts against the same limits. Heavy reads fail
 * open: while Redis is unreachable they are let through uncounted rather than refused or held,
 * because they need only Postgres and should keep working. Submits, which cannot be queued
 * without Redis, are answered 503 at once. Commands fail at once while disconnected (no offline
 * queue) and after COMMAND_TIMEOUT_MS at worst.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger(RateLimitStorage.name);
  private readonly redis: Redis;
  private readonly store: ThrottlerStorageRedisService;
  private lastWarning = 0;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.redis = new Redis({
      ...redisClientOptions(config.redisUrl),
      keyPrefix: `${config.queuePrefix}:rate-limit:`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: COMMAND_BACKSTOP_MS,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Without a listener ioredis prints every failed reconnection; the warning below says it once.
    this.redis.on('error', () => undefined);
    this.store = new ThrottlerStorageRedisService(this.redis);
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    try {
      return await withinStoreTimeout('redis', this.store.increment(key, ttl, limit, blockDuration, throttlerName), COMMAND_TIMEOUT_MS);
    } catch (err) {
      // A submit needs Redis for its job anyway: refusing it now keeps a frozen Redis from costing
      // it this wait and the enqueue's too, which together would pass the one-second bound.
      if (throttlerName === SUBMITS) throw new StoreUnavailableError('redis', `rate limit: ${(err as Error).message}`);
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`rate limits are not enforced while Redis does not answer (${(err as Error).message})`);
      }
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}
