import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { GRADIENT_SHARD_JOB, GradientShardJobData } from '@bulwark/queue';
import { runGradientShardJob } from '../training/run-gradient-shard-job';
import { jobContextFor, refuseCrashLoop } from './child-context';

/** Sandboxed processor of the `gradients` queue: one shard of a data-parallel training step per job. */
export default async function gradientsProcessor(job: SandboxedJob<GradientShardJobData>) {
  if (job.name !== GRADIENT_SHARD_JOB) throw new UnrecoverableError(`unknown job name "${job.name}" on the gradients queue`);
  await refuseCrashLoop(job, `gradient shard ${job.data.shard} of step ${job.data.step}`);
  return runGradientShardJob(job.data, await jobContextFor(job));
}
