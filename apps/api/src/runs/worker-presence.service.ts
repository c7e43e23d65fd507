import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { ApiConfig } from '@bulwark/config';
import type { Run } from '@bulwark/database';
import { failFastRedisOptions, gpuQueueWait, liveWorkers, requiresGpu, runQueueName, type WorkerPresence } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';
import { withinStoreTimeout } from '../common/store-unavailable';

/**
 * Reads the workers' announcements (see @bulwark/queue worker-presence) to say why a queued run
 * that requires a GPU is not running: computed when the run is read, so it is never stale.
 */
@Injectable()
export class WorkerPresenceService implements OnModuleDestroy {
  /** Opened on the first GPU run read: an API that never shows one holds no extra connection. */
  private client?: Redis;
  private readonly logger = new Logger(WorkerPresenceService.name);

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** Per run id, why it waits; runs absent from the map are not known to wait for anything. */
  async waitReasons(runs: readonly Run[]): Promise<Map<string, string>> {
    const waiting = runs.filter((run) => run.status === 'queued' && requiresGpu(run.spec));
    const reasons = new Map<string, string>();
    if (waiting.length === 0) return reasons;
    let workers: WorkerPresence[];
    try {
      workers = await withinStoreTimeout('redis', this.liveWorkers(), this.config.storeTimeoutMs);
    } catch (err) {
      // Postgres, not Redis, answers for the run: reading it still works, saying what is unknown
      // (the driver's text, which holds addresses, goes to the log only).
      this.logger.warn(`cannot read worker announcements: ${(err as Error).message}`);
      for (const run of waiting) reasons.set(run.id, 'cannot tell whether a worker with a GPU is connected: redis is unavailable');
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
    // quit() needs a live connection; with Redis down there is nothing to say goodbye to.
    if (this.client?.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client?.disconnect();
  }

  private async liveWorkers(): Promise<WorkerPresence[]> {
    if (!this.client) {
      // Fails fast while Redis is down (no offline queue), so a read of a run never waits on it;
      // its reconnects are silent here, since a read that needs it logs the failure.
      this.client = new Redis(failFastRedisOptions(this.config.redisUrl, this.config.storeTimeoutMs));
      this.client.on('error', () => undefined);
    }
    // Without an offline queue a command sent before the first connection is up would fail.
    if (this.client.status !== 'ready') await once(this.client, 'ready');
    return liveWorkers(this.client, this.config.queuePrefix);
  }
}
