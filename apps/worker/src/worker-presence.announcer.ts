import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import type { WorkerConfig } from '@bulwark/config';
import { PRESENCE_HEARTBEAT_MS, announceWorker, consumedQueueNames, redisClientOptions, withdrawWorker, type WorkerPresence } from '@bulwark/queue';
import { describeBackend, type BackendInfo } from '@bulwark/tfjs-runtime';
import { WORKER_BACKEND, WORKER_CONFIG } from './worker-config';

/**
 * Announces this worker in Redis (its backend, whether that is a GPU, the queues it consumes)
 * and renews the announcement on a heartbeat; withdraws it on shutdown. A worker that dies
 * unannounced drops out when the key expires. The API reads these to tell a GPU run why it waits.
 */
@Injectable()
export class WorkerPresenceAnnouncer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('presence');
  private readonly presence: WorkerPresence;
  private client?: Redis;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(WORKER_BACKEND) backend: BackendInfo,
  ) {
    const host = hostname();
    this.presence = {
      id: `${host}:${process.pid}`,
      host,
      pid: process.pid,
      backend: { name: backend.name, gpu: backend.gpu, description: describeBackend(backend) },
      queues: consumedQueueNames(config.queues, backend.gpu),
      startedAt: new Date().toISOString(),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.client = new Redis(redisClientOptions(this.config.redisUrl));
    await announceWorker(this.client, this.config.queuePrefix, this.presence);
    // A missed heartbeat is logged, not fatal: the next one rewrites the key before it expires.
    this.timer = setInterval(() => {
      if (this.client)
        announceWorker(this.client, this.config.queuePrefix, this.presence).catch((err: unknown) => this.logger.warn(`heartbeat failed: ${String(err)}`));
    }, PRESENCE_HEARTBEAT_MS);
    this.timer.unref();
    this.logger.log(`announced as ${this.presence.id}: ${this.presence.backend.description}, queues ${this.presence.queues.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await withdrawWorker(client, this.config.queuePrefix, this.presence.id).catch((err: unknown) => this.logger.warn(`could not withdraw: ${String(err)}`));
    await client.quit();
  }
}
