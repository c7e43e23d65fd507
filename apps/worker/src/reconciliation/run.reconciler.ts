import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { WorkerConfig } from '@bulwark/config';
import { Run, RunRepository } from '@bulwark/database';
import { RunJobData, redisConnectionOptions, runJobOptions, runQueueName } from '@bulwark/queue';
import type { RunQueueName } from '@bulwark/spec';
import { crashBudgetSpent } from '../run-lifecycle';
import { WORKER_CONFIG } from '../worker-config';
import { JobSighting, Verdict, strandedRunVerdict } from './stranded-run';

/** Runs checked per pass: the oldest changes first, the rest on the next pass. */
const BATCH = 500;
/** One reconciler at a time across every worker: a transaction-scoped Postgres advisory lock, gone with its connection. */
const LOCK_KEY = 'bulwark:reconcile-runs';

/**
 * Makes sure every run Postgres says is queued or running has a job that will move it on
 * (Postgres is the source of truth; Redis only dispatches), on start and every
 * RECONCILE_INTERVAL_MS. A run stranded by an outage or a crash (its job missing, failed or
 * completed) is enqueued again, resumed from its newest checkpoint within its crash budget,
 * cancelled if that was asked, or failed with a reason. Runs changed within RECONCILE_GRACE_MS
 * are left alone: an API may be between the insert and the enqueue.
 */
@Injectable()
export class RunReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reconciler');
  private readonly queues = new Map<RunQueueName, Queue>();
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly dataSource: DataSource,
    private readonly runs: RunRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.reconcileIntervalMs);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pass;
    await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => undefined)));
  }

  /** One pass unless one is still going; a pass that fails (a store is down) is logged and tried again at the next tick. */
  private async tick(): Promise<void> {
    if (this.pass || this.stopped) return;
    this.pass = this.reconcile()
      .then((moved) => {
        if (moved) this.logger.log(`moved on ${moved} stranded run(s)`);
      })
      .catch((err: unknown) => this.logger.warn(`pass failed, retrying in ${this.config.reconcileIntervalMs / 1000} s: ${(err as Error).message}`))
      .finally(() => (this.pass = undefined));
    await this.pass;
  }

  /** Checks the unfinished runs under the lock; returns how many it moved on (0 when another worker holds the lock). */
  async reconcile(): Promise<number> {
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      await lock.startTransaction();
      const [{ locked }] = (await lock.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [LOCK_KEY])) as [{ locked: boolean }];
      if (!locked) return 0;
      let moved = 0;
      for (const run of await this.runs.findUnfinished(this.config.reconcileGraceMs, BATCH)) {
        if (this.stopped) break;
        if (await this.reconcileRun(run)) moved++;
      }
      return moved;
    } finally {
      // Commit or roll back alike: the transaction holds nothing but the lock.
      await lock.rollbackTransaction().catch(() => undefined);
      await lock.release();
    }
  }

  private async reconcileRun(run: Run): Promise<boolean> {
    const queue = this.queue(runQueueName(run));
    const job = await queue.getJob(run.id);
    const sighting: JobSighting = job ? { state: await job.getState(), failedReason: job.failedReason } : { state: 'missing' };
    const verdict = strandedRunVerdict(run, sighting);
    if (verdict.action === 'leave') return false;
    this.logger.warn(`run ${run.id} (${run.status}, job ${sighting.state}): ${describe(verdict)}`);
    switch (verdict.action) {
      case 'cancel':
        return this.runs.markCancelled(run.id);
      case 'fail':
        return this.runs.markFailed(run.id, verdict.reason);
      case 'enqueue':
        await this.enqueue(queue, run, job !== undefined);
        return true;
      case 'requeue': {
        const count = await this.runs.requeueStranded(run.id, verdict.reason);
        if (!count) return false;
        if (count.crashes > this.config.crashBudget) return this.runs.markFailed(run.id, crashBudgetSpent(count, this.config.crashBudget));
        await this.enqueue(queue, run, job !== undefined);
        return true;
      }
    }
  }

  /** A finished job under the run's id must go first: BullMQ ignores an add whose id exists. */
  private async enqueue(queue: Queue, run: Run, replacing: boolean): Promise<void> {
    if (replacing) await queue.remove(run.id);
    const data: RunJobData = { runId: run.id };
    await queue.add(run.kind, data, runJobOptions(run.id, { attempts: this.config.jobAttempts, backoffMs: this.config.jobBackoffMs }));
  }

  private queue(name: RunQueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: redisConnectionOptions(this.config.redisUrl), prefix: this.config.queuePrefix });
      this.queues.set(name, queue);
    }
    return queue;
  }
}

function describe(verdict: Exclude<Verdict, { action: 'leave' }>): string {
  switch (verdict.action) {
    case 'cancel':
      return 'its cancel was requested and no job will see it: ending it cancelled';
    case 'fail':
      return `its job failed for good and the run never learnt: failing it (${verdict.reason})`;
    case 'enqueue':
      return `${verdict.reason}: enqueueing it`;
    case 'requeue':
      return verdict.reason;
  }
}
