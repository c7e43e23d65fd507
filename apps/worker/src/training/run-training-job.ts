import type { LayersModel } from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { CHECKPOINT_FORMAT, RunJobData, TrainingJobName } from '@bulwark/queue';
import { TrainingRunSpec, trainingRunSpecSchema } from '@bulwark/spec';
import { createRng, Dataset, restoreRng } from '@bulwark/data';
import { checkpointDigest, restoreCheckpoint, asLogitsModel, serializeCheckpoint } from '@bulwark/models';
import { EpochResult, BatchProgress, TrainSummary, carveHeldOut, distill, trainTeacherAtTemperature, trainClassifier } from '@bulwark/training';
import { JobContext, loadRunDataset } from '../job-context';
import { buildRunModel, loadCheckpointModel, restoreCheckpointWeights } from '../models/run-model';
import { assertJobKind, storedSpec } from '../stored-spec';
import { throttle } from '../throttle';
import { adversarialTrainingOf, learningRateScheduleOf, optimizerOf } from './training-options';

export type TrainingJobOutcome =
  | { status: 'succeeded'; epochs: number; last?: EpochResult }
  | { status: 'cancelled'; epochsCompleted: number }
  | { status: 'skipped'; reason: string };

/**
 * Turns a `train`, `adversarial-training` or `distillation` job into calls on
 * @bulwark/training, writing every epoch's metrics and checkpoint to Postgres as it goes. A re-delivered job resumes from the
 * newest checkpoint. Throws on failure (BullMQ retries); configuration errors are unrecoverable.
 */
export async function runTrainingJob(
  jobName: Exclude<TrainingJobName, 'import'>,
  data: RunJobData,
  ctx: JobContext,
): Promise<TrainingJobOutcome> {
  const run = await ctx.ledger.find(data.runId);
  if (!run) throw new UnrecoverableError(`run ${data.runId} does not exist`);
  assertJobKind(jobName, run);
  const spec = storedSpec(trainingRunSpecSchema, run);

  const started = await ctx.ledger.markRunning(run.id, ctx.backend, ctx.attempt);
  if (!started) {
    if (run.cancelRequestedAt) await ctx.ledger.markCancelled(run.id);
    return { status: 'skipped', reason: `run is ${run.cancelRequestedAt ? 'cancelled' : run.status}` };
  }

  const loaded = loadRunDataset(spec.dataset, { testFraction: spec.testFraction, seed: spec.seed }, ctx.datasetDirs);
  const test = loaded.test;
  // The guard's held-out examples come out of the training set (never the test split), seeded.
  const carved = spec.overfittingGuard ? carveHeldOut(loaded.train, { count: spec.overfittingGuard.heldOut, seed: spec.seed }) : undefined;
  const train = carved?.train ?? loaded.train;
  const model = await buildRunModel(ctx.ledger, run, train, spec.seed);
  const optimizer = optimizerOf(spec);
  let rng = createRng(spec.seed);
  let startEpoch = 0;
  try {
    const checkpoint = await ctx.ledger.latestCheckpoint(run.id);
    if (checkpoint) {
      const restored = await restoreCheckpoint(checkpoint.data, { model, optimizer });
      rng = restoreRng(restored.rngState);
      startEpoch = restored.epoch;
      ctx.log(`run ${run.id}: resuming after epoch ${startEpoch} from checkpoint ${checkpoint.sha256.slice(0, 12)}`);
    } else if (spec.initialCheckpointId) {
      const initial = await ctx.ledger.checkpointData(spec.initialCheckpointId);
      if (!initial) throw new UnrecoverableError(`initial checkpoint ${spec.initialCheckpointId} no longer exists`);
      await restoreCheckpointWeights(initial, model);
      ctx.log(`run ${run.id}: starting from checkpoint ${initial.id} (epoch ${initial.epoch} of run ${initial.runId})`);
    }
    const guard = carved && spec.overfittingGuard
      ? {
          heldOut: carved.heldOut,
          maxDrop: spec.overfittingGuard.maxDrop,
          maxGap: spec.overfittingGuard.maxGap,
          onCollapse: spec.overfittingGuard.onCollapse,
          seed: spec.seed,
          best: await guardBest(ctx, run.id),
        }
      : undefined;

    const cancelRequested = throttle(() => ctx.ledger.isCancelRequested(run.id), ctx.cancelPollMs, false);
    const progress = throttle(async (fraction: number) => {
      await Promise.all([ctx.reportProgress(fraction), ctx.ledger.setProgress(run.id, fraction)]);
    }, 1000, undefined);

    const loop = {
      optimizer,
      train,
      test,
      rng,
      startEpoch,
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      evalAttack: { attack: spec.attack.name, epsilon: spec.attack.epsilon },
      learningRateSchedule: learningRateScheduleOf(spec),
      shouldStop: cancelRequested,
      onBatchEnd: ({ epoch, batch, batches }: BatchProgress) => progress(((epoch - 1) + (batch + 1) / batches) / spec.epochs),
      onEpochEnd: async (result: EpochResult) => {
        await ctx.ledger.upsertMetrics(run.id, epochMetrics(spec, result));
        const bytes = await serializeCheckpoint({ model, optimizer, epoch: result.epoch, rngState: rng.state() });
        await ctx.ledger.saveCheckpoint(run.id, result.epoch, bytes, checkpointDigest(bytes), CHECKPOINT_FORMAT);
      },
    };
    let summary: TrainSummary;
    if (spec.kind === 'distillation') {
      const teacher = await loadTeacher(ctx, spec, train);
      try {
        summary = await distill({ ...loop, student: model, teacher: asLogitsModel(teacher), temperature: spec.temperature! });
      } finally {
        teacher.dispose();
      }
    } else if (spec.temperature !== undefined) {
      summary = await trainTeacherAtTemperature({ ...loop, model, temperature: spec.temperature });
    } else {
      summary = await trainClassifier({ ...loop, model, adversarial: adversarialTrainingOf(spec), overfittingGuard: guard });
    }

    if (summary.stopped) {
      await ctx.ledger.markCancelled(run.id);
      return { status: 'cancelled', epochsCompleted: summary.epochsCompleted };
    }
    await ctx.ledger.markSucceeded(run.id, summary.earlyStop ? { earlyStop: summary.earlyStop } : undefined);
    return { status: 'succeeded', epochs: summary.epochsCompleted, last: summary.last };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** Metric keys as stored: one series per quantity, step = epoch. */
export function epochMetrics(spec: TrainingRunSpec, r: EpochResult) {
  return [
    { key: 'train_loss', step: r.epoch, value: r.trainLoss },
    { key: 'test_clean_accuracy', step: r.epoch, value: r.cleanAccuracy },
    { key: `test_${spec.attack.name}_accuracy`, step: r.epoch, value: r.adversarialAccuracy },
    { key: 'test_examples', step: r.epoch, value: r.testExamples },
    { key: 'epoch_seconds', step: r.epoch, value: r.seconds },
    ...(r.cpuSeconds !== undefined ? [{ key: 'epoch_cpu_seconds', step: r.epoch, value: r.cpuSeconds }] : []),
    // Peak resident memory of the job's process so far (processes are reused across jobs).
    { key: 'peak_rss_mib', step: r.epoch, value: process.resourceUsage().maxRSS / 1024 },
    ...(r.learningRate !== undefined ? [{ key: 'learning_rate', step: r.epoch, value: r.learningRate }] : []),
    ...(r.epsilon !== undefined ? [{ key: 'train_epsilon', step: r.epoch, value: r.epsilon }] : []),
    ...(r.overfittingGuard
      ? [
          { key: 'guard_pgd_accuracy', step: r.epoch, value: r.overfittingGuard.pgdAccuracy },
          { key: 'guard_fgsm_accuracy', step: r.epoch, value: r.overfittingGuard.fgsmAccuracy },
          ...(r.overfittingGuard.collapse !== undefined ? [{ key: 'guard_collapsed', step: r.epoch, value: 1 }] : []),
          ...(r.overfittingGuard.rolledBackTo !== undefined ? [{ key: 'guard_rolled_back_to', step: r.epoch, value: r.overfittingGuard.rolledBackTo }] : []),
        ]
      : []),
  ];
}

/** The distillation teacher, rebuilt from its checkpoint (its architecture is its own run's). */
async function loadTeacher(ctx: JobContext, spec: TrainingRunSpec, train: Dataset): Promise<LayersModel> {
  const checkpoint = spec.teacherCheckpointId ? await ctx.ledger.checkpointData(spec.teacherCheckpointId) : null;
  if (!checkpoint) throw new UnrecoverableError(`teacher checkpoint ${spec.teacherCheckpointId} no longer exists`);
  return loadCheckpointModel(ctx.ledger, checkpoint, train);
}

/**
 * On resume, the guard's best epoch so far: from the stored per-epoch PGD accuracies and that
 * epoch's checkpoint. A collapsed epoch never is the best, however high its PGD accuracy (a
 * 'gap' collapse can be).
 */
async function guardBest(ctx: JobContext, runId: string) {
  const [accuracies, collapsed] = await Promise.all([
    ctx.ledger.metricSeries(runId, 'guard_pgd_accuracy'),
    ctx.ledger.metricSeries(runId, 'guard_collapsed'),
  ]);
  const collapsedEpochs = new Set(collapsed.map((p) => p.step));
  const series = accuracies.filter((p) => !collapsedEpochs.has(p.step));
  if (!series.length) return undefined;
  // Ties go to the later epoch, as in the guard (the series is in epoch order).
  const best = series.reduce((a, b) => (b.value >= a.value ? b : a));
  const checkpoint = await ctx.ledger.checkpointAt(runId, best.step);
  return checkpoint ? { epoch: best.step, accuracy: best.value, checkpoint: checkpoint.data } : undefined;
}
