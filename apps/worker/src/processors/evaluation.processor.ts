import { UnrecoverableError, WaitingChildrenError, type SandboxedJob } from 'bullmq';
import { EvaluationJob, EvaluationShardJobData, assertNever, evaluationJob, isEvaluationJobName, shardJobOptions } from '@bulwark/queue';
import { ShardDispatcher, runEvaluationJob } from '../evaluation/run-evaluation-job';
import { runEvaluationShardJob } from '../evaluation/run-evaluation-shard-job';
import { runPredictJob } from '../evaluation/run-predict-job';
import { childContext, jobContextFor, refuseCrashLoop } from './child-context';

/** Sandboxed processor of the `evaluation` queue (BullMQ runs this module in a child process). */
export default async function evaluationProcessor(sandboxed: SandboxedJob<EvaluationJob['data']>, token?: string) {
  const name = sandboxed.name;
  if (!isEvaluationJobName(name)) throw new UnrecoverableError(`unknown job name "${name}" on the evaluation queue`);
  const job = evaluationJob(name, sandboxed.data);
  switch (job.name) {
    case 'evaluation': {
      const { evaluationInputs } = await childContext();
      const outcome = await runEvaluationJob(job.data, await jobContextFor(sandboxed), evaluationInputs, await shardDispatcher(sandboxed, token));
      // Parked until its shards are done (moveToWaitingChildren): BullMQ then delivers it again.
      if (outcome.status === 'waiting-for-shards') throw new WaitingChildrenError();
      return outcome;
    }
    case 'evaluation-shard':
      await refuseCrashLoop(sandboxed, `shard ${job.data.index} of view ${job.data.view}`);
      return runEvaluationShardJob(job.data, await jobContextFor(sandboxed), (await childContext()).evaluationInputs);
    case 'predict':
      return runPredictJob(job.data, await jobContextFor(sandboxed));
    default:
      return assertNever(job);
  }
}

/** Shard jobs as children of `parent`, with its retry policy; the parent parks with its own lock token. */
async function shardDispatcher(parent: SandboxedJob, token: string | undefined): Promise<ShardDispatcher> {
  const { queueNamed } = await childContext();
  return {
    async waitFor(shards: EvaluationShardJobData[]) {
      if (!token) throw new Error(`internal: job ${parent.id} has no lock token to wait for its shards with`);
      const owner = { id: parent.id, queue: parent.queueQualifiedName };
      const backoff = parent.opts.backoff;
      const retry = { attempts: parent.opts.attempts ?? 1, backoffMs: typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0) };
      await queueNamed(parent.queueName).addBulk(shards.map((data) => ({ name: 'evaluation-shard', data, opts: shardJobOptions(data, owner, retry) })));
      return parent.moveToWaitingChildren(token);
    },
    async failures() {
      return Object.values(await parent.getIgnoredChildrenFailures());
    },
  };
}
