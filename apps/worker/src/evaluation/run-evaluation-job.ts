import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { ATTACKS_VERSION } from '@bulwark/attacks';
import type { EvaluationShardJobData, RunJobData } from '@bulwark/queue';
import { DefenseSpec, EvaluationRunSpec, EvaluationView, RunSpec, evaluationRunSpecSchema } from '@bulwark/spec';
import { createLogitsSquash, createPreprocessing, describeDefense, type DefenseDescription } from '@bulwark/defenses';
import {
  EvaluationFlag,
  PlannedShard,
  RobustnessEvaluation,
  ShardResult,
  describeAdaptiveAttack,
  evaluationViews,
  mergeShards,
  planShards,
} from '@bulwark/evaluation';
import { JobContext } from '../job-context';
import { RunLifecycle, runJob } from '../run-lifecycle';
import { specCheck } from '../stored-spec';
import { curveShare } from './detection-result';
import { assertFeatureLayers, runDetectionStage } from './detection-stage';
import type { EvaluationInputs } from './evaluation-inputs';

export type EvaluationJobOutcome =
  | { status: 'succeeded'; n: number; raisedFlags: string[] }
  | { status: 'cancelled' }
  | { status: 'skipped'; reason: string }
  | { status: 'waiting-for-shards'; shards: number };

/** Hands an evaluation's shards to the queue: the one part of the job that needs BullMQ (the processor provides it). */
export interface ShardDispatcher {
  /**
   * Adds the shards' jobs as children of this job (a no-op for those already added) and parks
   * this job until they are done; false when none of them is pending, so this job goes on now.
   */
  waitFor(shards: EvaluationShardJobData[]): Promise<boolean>;
  /** Why shard jobs of this job failed for good, one line each. */
  failures(): Promise<string[]>;
}

/**
 * Runs an `evaluation` job, the parent of its shard jobs. Its first delivery plans the shards
 * from the spec (planShards), enqueues them and parks; every shard job stores its per-example
 * results in Postgres. Delivered again once they are done, it merges each view's shards into the
 * curve, flags and gallery a single pass gives, writes them, runs the detection stage (if the
 * spec has detectors) and ends the run. What is stored decides what is left to do, so a
 * re-delivery after a crash only enqueues the shards not stored yet.
 */
export async function runEvaluationJob(data: RunJobData, ctx: JobContext, inputs: EvaluationInputs, shards: ShardDispatcher): Promise<EvaluationJobOutcome> {
  return runJob(ctx, { runId: data.runId, check: checkEvaluation }, (checked, lifecycle) => evaluateRun(ctx, inputs, shards, checked, lifecycle));
}

async function evaluateRun(
  ctx: JobContext,
  inputs: EvaluationInputs,
  shards: ShardDispatcher,
  { spec, withDetectors }: ReturnType<typeof checkEvaluation>,
  { run, shouldStop, progress, succeeded, cancelled }: RunLifecycle,
): Promise<EvaluationJobOutcome> {
  const checkpoint = await ctx.runs.checkpoint(spec.checkpointId);
  if (!checkpoint) throw new UnrecoverableError(`checkpoint ${spec.checkpointId} no longer exists`);
  const { loaded, examples } = await inputs.dataset(spec);
  // Detectors need feature layers the model may lack: checked before any shard is computed.
  const model = withDetectors ? (await inputs.checkpointModel(spec.checkpointId, loaded.test)).model : undefined;
  if (withDetectors && model) assertFeatureLayers(withDetectors.detectors, model);

  const description = spec.defense && defenseDescription(spec.defense);
  const plan = planShards({ n: examples.size, shardSize: spec.shardSize, defense: description });
  await ctx.evaluationResults.planShards(
    run.id,
    plan.map(({ view, index, start, size }) => ({ view, shardIndex: index, start, size })),
  );
  const missing = await missingShards(ctx, run.id, plan);
  if (missing.length) {
    if (await shards.waitFor(missing.map(({ view, index }) => ({ runId: run.id, view, index })))) {
      ctx.log(`run ${run.id}: waiting for ${missing.length} of ${plan.length} shard(s)`);
      return { status: 'waiting-for-shards', shards: missing.length };
    }
    // No shard pending, yet some not stored: they stopped on a cancel, or failed for good.
    const notStored = await missingShards(ctx, run.id, plan);
    if (notStored.length) {
      if (await shouldStop()) return await cancelled();
      const reasons = await shards.failures();
      throw new UnrecoverableError(`${notStored.map(shardName).join(', ')} ended without storing a result${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
    }
  }

  const curvePart = curveShare(spec);
  const merged = new Map<EvaluationView, RobustnessEvaluation>();
  for (const view of evaluationViews(description)) {
    const stored = await ctx.evaluationResults.shardResults(run.id, view);
    const evaluation = mergeShards(
      stored.map((s) => s.result as ShardResult),
      { n: examples.size, norm: spec.norm, galleryPerEpsilon: spec.galleryPerEpsilon },
    );
    for (const point of evaluation.points) {
      await ctx.evaluationResults.saveRobustnessPoint(
        run.id,
        view,
        point.epsilon,
        point.outcomes.map(({ attack, n, cleanCorrect, robustCorrect, seconds, details }) => ({ attack, n, cleanCorrect, robustCorrect, seconds, details })),
        point.gallery.map((g) => ({ ...g, clean: Buffer.from(g.clean), adversarial: Buffer.from(g.adversarial) })),
      );
    }
    merged.set(view, evaluation);
  }
  await progress(curvePart);

  const detection =
    withDetectors && model
      ? await runDetectionStage({
          spec: withDetectors,
          model,
          train: loaded.train,
          examples,
          onProgress: (fraction) => progress(curvePart + (1 - curvePart) * fraction),
          shouldStop,
        })
      : undefined;
  if (detection === null) return await cancelled();

  const evaluation = merged.get(description ? 'naive' : 'direct');
  if (!evaluation) throw new Error('internal: the evaluation has no naive or direct view');
  const adaptive = merged.get('adaptive');
  const raised = [...evaluation.flags, ...(adaptive?.flags ?? [])].filter((f) => f.raised);
  const result = {
    n: evaluation.n,
    examples: { subset: `seeded subset of the test split (seed ${spec.seed})`, testSplit: loaded.testSplit, n: evaluation.n },
    checkpoint: { id: checkpoint.id, epoch: checkpoint.epoch, sha256: checkpoint.sha256 },
    flags: storedFlags(evaluation.flags),
    ...(description && { defense: description, adaptiveAttack: describeAdaptiveAttack(description) }),
    ...(adaptive && { adaptiveFlags: storedFlags(adaptive.flags) }),
    ...(detection && { detection }),
    trustworthy: (adaptive ?? evaluation).flags.every((f) => !f.raised),
    libraryVersion: { attacks: ATTACKS_VERSION, tfjs: tf.version.tfjs },
    backend: ctx.backend,
  };
  return await succeeded({ n: evaluation.n, raisedFlags: [...new Set(raised.map((f) => f.flag))] }, { result });
}

async function missingShards(ctx: JobContext, runId: string, plan: PlannedShard[]): Promise<PlannedShard[]> {
  const finished = (await ctx.evaluationResults.shards(runId)).filter((s) => s.finishedAt !== null);
  const stored = new Set(finished.map((s) => `${s.view}.${s.shardIndex}`));
  return plan.filter((s) => !stored.has(`${s.view}.${s.index}`));
}

/** How errors and logs name a shard. */
export function shardName({ view, index, start, size }: PlannedShard): string {
  return `shard ${index} of view ${view} (examples ${start}–${start + size - 1})`;
}

/** What createDefense describes for `spec`, without a model. */
export function defenseDescription(spec: DefenseSpec): DefenseDescription {
  return describeDefense(spec.preprocessing.map(createPreprocessing), spec.logits && createLogitsSquash(spec.logits));
}

function storedFlags(flags: EvaluationFlag[]) {
  return flags.map(({ flag, raised, detail, epsilon, examples }) => ({ flag, raised, detail, epsilon, examples: examples.slice(0, 20) }));
}

/** The spec with its detection fields, when it has detectors (stored specs hold all three or none). */
function detectionSpec(spec: EvaluationRunSpec) {
  const { detectors, validationExamples, detectorAware } = spec;
  if (!detectors?.length) return undefined;
  if (validationExamples === undefined || detectorAware === undefined)
    throw new UnrecoverableError('detectors need validationExamples and detectorAware in the spec');
  return { ...spec, detectors, validationExamples, detectorAware };
}

/** The spec and, when it has detectors, its detection fields: both checked before the run is marked running. */
export function checkEvaluation(stored: RunSpec) {
  const spec = specCheck('evaluation', evaluationRunSpecSchema)(stored);
  return { spec, withDetectors: detectionSpec(spec) };
}
