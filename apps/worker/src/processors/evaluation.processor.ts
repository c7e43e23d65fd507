import type { SandboxedJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { RunJobData, assertNever, isEvaluationJobName } from '@bulwark/jobs';
import { runEvaluationJob } from '../evaluation/run-evaluation-job';
import { jobContextFor } from './child-context';

/** Sandboxed processor of the `evaluation` queue (BullMQ runs this module in a child process). */
export default async function evaluationProcessor(job: SandboxedJob<RunJobData>) {
  const name = job.name;
  if (!isEvaluationJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the evaluation queue`);
  switch (name) {
    case 'evaluate':
      return runEvaluationJob(job.data, await jobContextFor(job));
    default:
      return assertNever(name);
  }
}
