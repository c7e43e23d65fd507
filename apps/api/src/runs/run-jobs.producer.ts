import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type { ApiConfig } from '@bulwark/config';
import type { Run } from '@bulwark/database';
import { EVALUATION_QUEUE, EvaluationJob, TRAINING_QUEUE, TrainingJob, assertNever, runJobOptions, trainingJobFor } from '@bulwark/jobs';
import { API_CONFIG } from '../common/api-config';

/** The only place the API enqueues work. */
@Injectable()
export class RunJobsProducer {
  constructor(
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue<TrainingJob['data'], unknown, TrainingJob['name']>,
    @InjectQueue(EVALUATION_QUEUE) private readonly evaluationQueue: Queue<EvaluationJob['data'], unknown, EvaluationJob['name']>,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Idempotent: the job id is the run id, so a second call for the same run adds nothing. */
  async enqueue(run: Pick<Run, 'id' | 'kind'>): Promise<void> {
    const options = runJobOptions(run.id, { attempts: this.config.jobAttempts, backoffMs: this.config.jobBackoffMs });
    switch (run.kind) {
      case 'train':
      case 'adversarial-training':
      case 'distillation': {
        const job = trainingJobFor(run.kind, run.id);
        await this.trainingQueue.add(job.name, job.data, options);
        return;
      }
      case 'evaluation':
        await this.evaluationQueue.add('evaluate', { runId: run.id }, options);
        return;
      default:
        assertNever(run.kind);
    }
  }

  /** Removes a job that no worker holds yet; returns false if it is active (or already gone). */
  async removeIfWaiting(run: Pick<Run, 'id' | 'kind'>): Promise<boolean> {
    const queue: Queue = run.kind === 'evaluation' ? this.evaluationQueue : this.trainingQueue;
    const job = await queue.getJob(run.id);
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
