import type { WorkerPresence } from '@bulwark/queue';
import type { QueuesResponse } from './queues.response';

/** One queue's job counts as BullMQ's getJobCounts gives them for the types the service asks. */
export type JobCounts = Record<'waiting' | 'prioritized' | 'active' | 'delayed' | 'failed', number>;

export function toQueuesResponse(queues: readonly { name: string; counts: JobCounts }[], workers: readonly WorkerPresence[]): QueuesResponse {
  return {
    queues: queues.map(({ name, counts }) => ({
      name,
      // BullMQ keeps jobs with a priority apart from the plain waiting list; both wait for a worker.
      waiting: counts.waiting + counts.prioritized,
      active: counts.active,
      delayed: counts.delayed,
      failed: counts.failed,
      workers: workers.filter((worker) => (worker.queues as readonly string[]).includes(name)).length,
    })),
    workers: workers.map((worker) => ({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      backend: worker.backend.name,
      gpu: worker.backend.gpu,
      queues: worker.queues,
      startedAt: worker.startedAt,
    })),
  };
}
