import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import { failFastRedisOptions, liveWorkers } from '@bulwark/queue';
import { RUN_QUEUE_NAMES } from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError, withinStoreTimeout } from '../common/store-unavailable';
import { type JobCounts, toQueuesResponse } from './queues.mapper';
import type { QueuesResponse } from './queues.response';

/**
 * Counts of BullMQ's queues and the workers' announcements, for the dashboard's queue view. One
 * Redis connection for all of it, opened on the first call: an API nobody asks never holds it.
 */
@Injectable()
export class QueuesService implements OnModuleDestroy {
  private client?: Redis;
  private queues?: Queue[];

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  async overview(): Promise<QueuesResponse> {
    try {
      return await withinStoreTimeout('redis', this.read(), this.config.storeTimeoutMs);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError('redis', (err as Error).message);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all((this.queues ?? []).map((queue) => queue.close().catch(() => undefined)));
    if (this.client?.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client?.disconnect();
  }

  private async read(): Promise<QueuesResponse> {
    const client = await this.connected();
    this.queues ??= RUN_QUEUE_NAMES.map((name) => new Queue(name, { connection: client, prefix: this.config.queuePrefix }));
    const queues = this.queues;
    const [workers, counts] = await Promise.all([
      liveWorkers(client, this.config.queuePrefix),
      Promise.all(queues.map((queue) => queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed') as Promise<JobCounts>)),
    ]);
    return toQueuesResponse(
      queues.map((queue, i) => ({ name: queue.name, counts: counts[i] })),
      workers,
    );
  }

  private async connected(): Promise<Redis> {
    if (!this.client) {
      this.client = new Redis(failFastRedisOptions(this.config.redisUrl, this.config.storeTimeoutMs));
      // A failed call reports the failure; the reconnect attempts in between say nothing new.
      this.client.on('error', () => undefined);
    }
    if (this.client.status !== 'ready') await once(this.client, 'ready');
    return this.client;
  }
}
