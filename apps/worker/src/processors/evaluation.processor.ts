import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { EvaluationJob, assertNever, evaluationJob, isEvaluationJobName } from '@bulwark/queue';
import { runEvaluationJob } from '../evaluation/run-evaluation-job';
import { runPredictJob } from '../evaluation/run-predict-job';
import { jobContextFor } from './child-context';

/** Sandboxed processor of the `evaluation` queue (BullMQ runs this module in a child process). */
export default async function evaluationProcessor(sandboxed: SandboxedJob<EvaluationJob['data']>) {
  const name = sandboxed.name;
  if (!isEvaluationJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the evaluation queue`);
  const job = evaluationJob(name, sandboxed.data);
  switch (job.name) {
    case 'evaluation':
      return runEvaluationJob(job.data, await jobContextFor(sandboxed));
    case 'predict':
      return runPredictJob(job.data, await jobContextFor(sandboxed));
    default:
      return assertNever(job);
  }
}
