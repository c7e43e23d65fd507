import type { Redis } from 'ioredis';
import { GPU_QUEUES, QUEUE_NAMES, type RunQueueName } from '@bulwark/spec';

/**
 * A worker process as it announces itself in Redis: one key per worker, rewritten every
 * PRESENCE_HEARTBEAT_MS with a TTL of PRESENCE_TTL_SECONDS, so a worker that died unannounced
 * drops out within the TTL. The API reads them to tell a run that waits for a GPU why.
 */
export interface WorkerPresence {
  /** host:pid */
  id: string;
  host: string;
  pid: number;
  /** The backend its job processes select, probed before it subscribed. */
  backend: { name: string; gpu: boolean; description: string };
  /** Every queue it consumes, GPU queues included. */
  queues: RunQueueName[];
  startedAt: string;
}

export const PRESENCE_HEARTBEAT_MS = 10_000;
export const PRESENCE_TTL_SECONDS = 30;

/** Under the queue prefix, beside BullMQ's `<prefix>:<queue>:…` keys (no queue is named "workers"). */
export function presenceKey(prefix: string, workerId: string): string {
  return `${prefix}:workers:${workerId}`;
}

export async function announceWorker(client: Redis, prefix: string, presence: WorkerPresence): Promise<void> {
  await client.set(presenceKey(prefix, presence.id), JSON.stringify(presence), 'EX', PRESENCE_TTL_SECONDS);
}

export async function withdrawWorker(client: Redis, prefix: string, workerId: string): Promise<void> {
  await client.del(presenceKey(prefix, workerId));
}

/** Every worker whose announcement has not expired. QUEUE_PREFIX holds no glob characters (config checks it). */
export async function liveWorkers(client: Redis, prefix: string): Promise<WorkerPresence[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', presenceKey(prefix, '*'), 'COUNT', 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await client.mget(...keys);
  return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as WorkerPresence);
}

/**
 * Why a queued run on `queue` cannot start, as far as the live workers tell; undefined when one
 * of them consumes the queue, and for the plain queues (workers that predate announcements
 * consume those unannounced).
 */
export function gpuQueueWait(queue: RunQueueName, workers: readonly WorkerPresence[]): string | undefined {
  const plain = QUEUE_NAMES.find((name) => GPU_QUEUES[name] === queue);
  if (plain === undefined || workers.some((worker) => worker.queues.includes(queue))) return undefined;
  if (!workers.some((worker) => worker.backend.gpu)) return `no worker with a GPU is connected; the run waits in queue ${queue} until one is`;
  return `no connected worker with a GPU consumes ${plain} (WORKER_QUEUES); the run waits in queue ${queue} until one does`;
}
