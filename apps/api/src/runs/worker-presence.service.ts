import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import type { Run } from '@bulwark/database';
import { gpuQueueWait, liveWorkers, redisClientOptions, requiresGpu, runQueueName, type WorkerPresence } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';

/**
 * Reads the workers' announcements (see @bulwark/queue worker-presence) to say why a queued run
 * that requires a GPU is not running: computed when the run is read, so it is never stale.
 */
@Injectable()
export class WorkerPresenceService implements OnModuleDestroy {
  /** Opened on the first GPU run read: an API that never shows one holds no extra connection. */
  private client?: Redis;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** Per run id, why it waits; runs absent from the map are not known to wait for anything. */
  async waitReasons(runs: readonly Run[]): Promise<Map<string, string>> {
    const waiting = runs.filter((run) => run.status === 'queued' && requiresGpu(run.spec));
    const reasons = new Map<string, string>();
    if (waiting.length === 0) return reasons;
    let workers: WorkerPresence[];
    try {
      workers = await liveWorkers(this.redis(), this.config.queuePrefix);
    } catch (err) {
      // Postgres, not Redis, answers for the run: reading it still works, saying what is unknown.
      for (const run of waiting) reasons.set(run.id, `cannot tell whether a worker with a GPU is connected (Redis: ${(err as Error).message})`);
      return reasons;
    }
    for (const run of waiting) {
      const reason = gpuQueueWait(runQueueName(run), workers);
      if (reason !== undefined) reasons.set(run.id, reason);
    }
    return reasons;
  }

  async waitingFor(run: Run): Promise<string | null> {
    return (await this.waitReasons([run])).get(run.id) ?? null;
  }

  async onModuleDestroy(): Promise<void> {
    await this.client?.quit();
  }

  private redis(): Redis {
    this.client ??= new Redis({ ...redisClientOptions(this.config.redisUrl), maxRetriesPerRequest: 1 });
    return this.client;
  }
}
