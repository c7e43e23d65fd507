import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import { redisClientOptions } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A command that Redis does not answer in this long is given up: a rate limit must never be why a request hangs. */
const COMMAND_TIMEOUT_MS = 500;

/**
 * Hit counts in Redis, so every API replica counts against the same limits. Fails open: while
 * Redis is unreachable a request is let through uncounted rather than refused or held, because
 * what the limits protect (the queue, the workers) is unreachable too (submits answer 503 on
 * their own) and reads that need only Postgres should keep working. Commands fail at once
 * while disconnected (no offline queue) and after COMMAND_TIMEOUT_MS at worst.
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
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Without a listener ioredis prints every failed reconnection; the warning below says it once.
    this.redis.on('error', () => undefined);
    this.store = new ThrottlerStorageRedisService(this.redis);
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    try {
      return await this.store.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (err) {
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
