import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type { ApiConfig } from '@bulwark/config';
import type { Run } from '@bulwark/database';
import { TRAINING_QUEUE, TrainingJob, trainingJobFor, trainingJobOptions } from '@bulwark/jobs';
import { API_CONFIG } from '../common/api-config';

/** The only place the API enqueues work. */
@Injectable()
export class RunJobsProducer {
  constructor(
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue<TrainingJob['data'], unknown, TrainingJob['name']>,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Idempotent: the job id is the run id, so a second call for the same run adds nothing. */
  async enqueue(run: Pick<Run, 'id' | 'kind'>): Promise<void> {
    const job = trainingJobFor(run.kind, run.id);
    await this.trainingQueue.add(job.name, job.data, trainingJobOptions(run.id, {
      attempts: this.config.jobAttempts,
      backoffMs: this.config.jobBackoffMs,
    }));
  }

  /** Removes a job that no worker holds yet; returns false if it is active (or already gone). */
  async removeIfWaiting(runId: string): Promise<boolean> {
    const job = await this.trainingQueue.getJob(runId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch {
      // A worker took it between getState and remove: the worker will see the cancel flag instead.
      return false;
    }
  }
}
