import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { RunJobData, assertNever, isTrainingJobName } from '@bulwark/queue';
import { runImportJob } from '../models/run-import-job';
import { runTrainingJob } from '../training/run-training-job';
import { jobContextFor } from './child-context';

/** Sandboxed processor of the `training` queue (BullMQ runs this module in a child process). */
export default async function trainingProcessor(job: SandboxedJob<RunJobData>) {
  const name = job.name;
  if (!isTrainingJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the training queue`);
  switch (name) {
    case 'train':
    case 'adversarial-training':
    case 'distillation':
      return runTrainingJob(name, job.data, await jobContextFor(job));
    case 'import':
      return runImportJob(job.data, await jobContextFor(job));
    default:
      return assertNever(name);
  }
}
