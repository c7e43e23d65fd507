import type { SandboxedJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { RunJobData, assertNever, isTrainingJobName } from '@bulwark/jobs';
import { runTrainingJob } from '../training/run-training-job';
import { childContext } from './child-context';

/** Sandboxed processor of the `training` queue (BullMQ runs this module in a child process). */
export default async function trainingProcessor(job: SandboxedJob<RunJobData>) {
  const { ledger, backend, config, log } = await childContext();
  const name = job.name;
  if (!isTrainingJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the training queue`);
  switch (name) {
    case 'train':
    case 'adversarial-train':
      return runTrainingJob(name, job.data, {
        ledger,
        backend,
        cancelPollMs: config.cancelPollMs,
        datasetDirs: config.datasetDirs,
        attempt: job.attemptsMade + 1,
        reportProgress: (fraction) => job.updateProgress(Math.round(fraction * 1000) / 10),
        log,
      });
    default:
      return assertNever(name);
  }
}
