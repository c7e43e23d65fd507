import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { ApiConfig } from '@bulwark/config';
import { DatabaseModule } from '@bulwark/database';
import { API_CONFIG } from '../common/api-config';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import type { AuthenticatedRequest } from './caller.decorator';
import { RateLimitClass, rateLimitClassOf } from './rate-limit';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitStorage } from './rate-limit.storage';

@Module({
  providers: [RateLimitStorage],
  exports: [RateLimitStorage],
})
class RateLimitStorageModule {}

/**
 * API keys and per-key rate limits for every route. The guards run in this order: the key
 * first (a 401 costs no rate-limit count), then the limits, counted per key, not per address.
 */
@Module({
  imports: [
    DatabaseModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [API_CONFIG, RateLimitStorage],
      useFactory: (config: ApiConfig, storage: RateLimitStorage) => {
        const budget = (name: RateLimitClass, limit: number) => ({
          name,
          limit,
          ttl: config.rateLimits.windowMs,
          skipIf: (context: Parameters<typeof rateLimitClassOf>[0]) => rateLimitClassOf(context) !== name,
        });
        return {
          throttlers: [budget('submits', config.rateLimits.submits), budget('heavy-reads', config.rateLimits.heavyReads)],
          storage,
          // Only routes with @RateLimit are counted, and those are never @Public(): the caller is known.
          getTracker: (req: Pick<AuthenticatedRequest, 'caller'>) => req.caller?.keyId ?? 'anonymous',
          // One count per key and budget across all its routes (the default key is per route).
          generateKey: (_context: unknown, tracker: string, name: string) => `${name}:${tracker}`,
        };
      },
    }),
  ],
  controllers: [ApiKeysController],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
})
export class AuthModule {}
