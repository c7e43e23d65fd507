import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ApiConfig } from '@bulwark/config';
import { connectRunEventPublisher } from '@bulwark/queue';
import type { RunEvent, RunEventSink } from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';

/**
 * The API's events (a run submitted, a queued run cancelled), handed to their connection without
 * waiting for Redis: with Redis down or frozen a request is answered as fast as without events.
 */
@Injectable()
export class ApiRunEventPublisher implements RunEventSink, OnApplicationShutdown {
  private readonly logger = new Logger('RunEvents');
  private readonly connection: { sink: RunEventSink; close: () => Promise<void> };

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.connection = connectRunEventPublisher(config.redisUrl, config.queuePrefix, (line) => this.logger.warn(line), config.storeTimeoutMs);
  }

  publish(tenantId: string, event: RunEvent): Promise<void> {
    return this.connection.sink.publish(tenantId, event);
  }

  onApplicationShutdown(): Promise<void> {
    return this.connection.close();
  }
}
