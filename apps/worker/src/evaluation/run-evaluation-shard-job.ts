import { UnrecoverableError } from 'bullmq';
import { asLogitsModel } from '@bulwark/models';
import type { EvaluationShardJobData } from '@bulwark/queue';
import { createDefense } from '@bulwark/defenses';
import { defenseView, evaluateShard, planShards } from '@bulwark/evaluation';
import type { JobContext } from '../job-context';
import type { SkippedJob } from '../run-lifecycle';
import { throttle } from '../throttle';
import { curveShare } from './detection-result';
import type { EvaluationInputs } from './evaluation-inputs';
import { checkEvaluation, defenseDescription, shardName } from './run-evaluation-job';

export type ShardJobOutcome = { status: 'stored' | 'already-stored'; seconds: number } | { status: 'cancelled' } | SkippedJob;

/** A job's BullMQ progress is reported at most this often. */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Runs one `evaluation-shard` job: evaluates the shard's examples under its view with
 * evaluateShard and stores the per-example results for the parent job to merge. A shard of a
 * run that was cancelled or has ended computes nothing, and neither does one already stored: a
 * finished shard is never computed again, whichever worker takes its job.
 */
export async function runEvaluationShardJob(data: EvaluationShardJobData, ctx: JobContext, inputs: EvaluationInputs): Promise<ShardJobOutcome> {
  const run = await ctx.runs.find(data.runId);
  if (!run) throw new UnrecoverableError(`run ${data.runId} does not exist`);
  if (run.cancelRequestedAt) {
    await ctx.runs.markCancelled(run.id);
    return { status: 'skipped', reason: 'run is cancelled' };
  }
  if (run.status !== 'running') return { status: 'skipped', reason: `run is ${run.status}` };
  if (await ctx.evaluationResults.isShardStored(run.id, data.view, data.index)) return { status: 'skipped', reason: 'shard already stored' };

  const { spec } = checkEvaluation(run.spec);
  const { loaded, examples } = await inputs.dataset(spec);
  const plan = planShards({ n: examples.size, shardSize: spec.shardSize, defense: spec.defense && defenseDescription(spec.defense) });
  const shard = plan.find((s) => s.view === data.view && s.index === data.index);
  if (!shard) throw new UnrecoverableError(`run ${run.id} has no shard ${data.index} of view ${data.view} (it has ${plan.length} shard(s))`);

  const { model } = await inputs.checkpointModel(spec.checkpointId, loaded.test);
  const logits = asLogitsModel(model);
  // A fresh defense per shard: a random one's draws then start where a single pass starts them.
  const attacked = shard.view === 'direct' || !spec.defense ? logits : defenseView(createDefense({ model: logits, spec: spec.defense }), shard.view);
  const started = performance.now();
  const result = await evaluateShard({
    model: attacked,
    dataset: examples,
    epsilons: spec.epsilons,
    norm: spec.norm,
    attacks: spec.attacks,
    params: spec.params,
    seed: spec.seed,
    galleryPerEpsilon: spec.galleryPerEpsilon,
    shard,
    onProgress: throttle((fraction: number) => ctx.reportProgress(fraction), PROGRESS_INTERVAL_MS, undefined),
    shouldStop: throttle(() => ctx.runs.isCancelRequested(run.id), ctx.cancelPollMs, false),
  });
  if (result.stopped) {
    await ctx.runs.markCancelled(run.id);
    ctx.log(`run ${run.id}: ${shardName(shard)} stopped: the run was cancelled`);
    return { status: 'cancelled' };
  }
  const seconds = (performance.now() - started) / 1000;
  const record = { view: shard.view, shardIndex: shard.index, result, seconds, backend: ctx.backend };
  const stored = await ctx.evaluationResults.saveShard(run.id, record, curveShare(spec));
  ctx.log(`run ${run.id}: ${shardName(shard)} ${stored ? 'stored' : 'was stored meanwhile by another worker'} after ${seconds.toFixed(1)} s`);
  return { status: stored ? 'stored' : 'already-stored', seconds };
}
