import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import { RedisRunEventPublisher, failFastRedisOptions } from '@bulwark/queue';
import type { RunEvent, RunEventSink } from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';

/**
 * The API's events (a run submitted, a queued run cancelled) on their own fail-fast connection:
 * with Redis down a publish fails within STORE_TIMEOUT_MS and the request goes on.
 */
@Injectable()
export class ApiRunEventPublisher implements RunEventSink, OnApplicationShutdown {
  private readonly logger = new Logger('RunEvents');
  private readonly client: Redis;
  private readonly publisher: RedisRunEventPublisher;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.client = new Redis({ ...failFastRedisOptions(config.redisUrl, config.storeTimeoutMs), connectionName: 'bulwark-api-event-publisher' });
    this.client.on('error', () => undefined);
    this.publisher = new RedisRunEventPublisher(this.client, config.queuePrefix, (line) => this.logger.warn(line), config.storeTimeoutMs);
  }

  publish(tenantId: string, event: RunEvent): Promise<void> {
    return this.publisher.publish(tenantId, event);
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}
