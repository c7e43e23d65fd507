import type { LayersModel } from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { CHECKPOINT_FORMAT, GRADIENT_GPU_QUEUE, GRADIENT_QUEUE, RunJobData, TrainingJobName } from '@bulwark/queue';
import { TrainingRunSpec, trainingRunSpecSchema } from '@bulwark/spec';
import { createRng, Dataset, restoreRng } from '@bulwark/data';
import { checkpointDigest, restoreCheckpoint, asLogitsModel, serializeCheckpoint } from '@bulwark/models';
import { EpochResult, BatchProgress, TrainSummary, carveHeldOut, distill, trainTeacherAtTemperature, trainClassifier } from '@bulwark/training';
import { JobContext, loadRunDataset } from '../job-context';
import { buildRunModel, loadCheckpointModel, restoreCheckpointWeights } from '../models/run-model';
import { RunLifecycle, runJob } from '../run-lifecycle';
import { specCheck } from '../stored-spec';
import { adversarialTrainingOf, learningRateScheduleOf, optimizerOf } from './training-options';
import { ExchangeStats, QueueGradientExchange, createQueueGradientExchange } from './queue-gradient-exchange';

export type TrainingJobOutcome =
  { status: 'succeeded'; epochs: number; last?: EpochResult } | { status: 'cancelled'; epochsCompleted: number } | { status: 'skipped'; reason: string };

/**
 * Turns a `train`, `adversarial-training` or `distillation` job into calls on
 * @bulwark/training, writing every epoch's metrics and checkpoint to Postgres as it goes. A re-delivered job resumes from the
 * newest checkpoint. Throws on failure (BullMQ retries); configuration errors are unrecoverable.
 */
export async function runTrainingJob(jobName: Exclude<TrainingJobName, 'import'>, data: RunJobData, ctx: JobContext): Promise<TrainingJobOutcome> {
  return runJob(ctx, { runId: data.runId, check: specCheck(jobName, trainingRunSpecSchema) }, (spec, lifecycle) => trainRun(ctx, spec, lifecycle));
}

async function trainRun(
  ctx: JobContext,
  spec: TrainingRunSpec,
  { run, shouldStop, progress, succeeded, cancelled }: RunLifecycle,
): Promise<TrainingJobOutcome> {
  const loaded = await loadRunDataset(
    spec.dataset,
    { testFraction: spec.testFraction, seed: spec.seed },
    { dirs: ctx.datasetDirs, uploads: ctx.uploadedDatasets },
  );
  const test = loaded.test;
  // The guard's held-out examples come out of the training set (never the test split), seeded.
  const carved = spec.overfittingGuard ? carveHeldOut(loaded.train, { count: spec.overfittingGuard.heldOut, seed: spec.seed }) : undefined;
  const train = carved?.train ?? loaded.train;
  const model = await buildRunModel(ctx.runs, run, train, spec.seed);
  const optimizer = optimizerOf(spec);
  let rng = createRng(spec.seed);
  let startEpoch = 0;
  let exchange: QueueGradientExchange | undefined;
  try {
    const checkpoint = await ctx.runs.latestCheckpoint(run.id);
    if (checkpoint) {
      const restored = await restoreCheckpoint(checkpoint.data, { model, optimizer });
      rng = restoreRng(restored.rngState);
      startEpoch = restored.epoch;
      ctx.log(`run ${run.id}: resuming after epoch ${startEpoch} from checkpoint ${checkpoint.sha256.slice(0, 12)}`);
    } else if (spec.initialCheckpointId) {
      const initial = await ctx.runs.checkpointData(spec.initialCheckpointId);
      if (!initial) throw new UnrecoverableError(`initial checkpoint ${spec.initialCheckpointId} no longer exists`);
      await restoreCheckpointWeights(initial, model);
      ctx.log(`run ${run.id}: starting from checkpoint ${initial.id} (epoch ${initial.epoch} of run ${initial.runId})`);
    }
    const guard =
      carved && spec.overfittingGuard
        ? {
            heldOut: carved.heldOut,
            maxDrop: spec.overfittingGuard.maxDrop,
            maxGap: spec.overfittingGuard.maxGap,
            onCollapse: spec.overfittingGuard.onCollapse,
            seed: spec.seed,
            best: await guardBest(ctx, run.id),
          }
        : undefined;

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
      shouldStop,
      onBatchEnd: ({ epoch, batch, batches }: BatchProgress) => progress((epoch - 1 + (batch + 1) / batches) / spec.epochs),
      onEpochEnd: async (result: EpochResult) => {
        const exchanged = exchange?.takeStats();
        await ctx.runs.upsertMetrics(run.id, [...epochMetrics(spec, result), ...(exchanged ? exchangeMetrics(result.epoch, exchanged) : [])]);
        const bytes = await serializeCheckpoint({ model, optimizer, epoch: result.epoch, rngState: rng.state() });
        await ctx.runs.saveCheckpoint(run.id, result.epoch, bytes, checkpointDigest(bytes), CHECKPOINT_FORMAT);
      },
    };
    let summary: TrainSummary;
    if (spec.kind === 'distillation') {
      const { temperature, teacherCheckpointId } = distillationOf(spec);
      const teacher = await loadTeacher(ctx, teacherCheckpointId, train);
      try {
        summary = await distill({ ...loop, student: model, teacher: asLogitsModel(teacher), temperature });
      } finally {
        teacher.dispose();
      }
    } else if (spec.temperature !== undefined) {
      summary = await trainTeacherAtTemperature({ ...loop, model, temperature: spec.temperature });
    } else {
      if (spec.dataParallel) {
        const queueName = spec.requiresGpu ? GRADIENT_GPU_QUEUE : GRADIENT_QUEUE;
        exchange = await createQueueGradientExchange({ redisUrl: ctx.queue.redisUrl, prefix: ctx.queue.prefix, queueName, runId: run.id, dataset: train });
        ctx.log(`run ${run.id}: data-parallel, ${spec.dataParallel.shards} shards per step on queue ${queueName}`);
      }
      const dataParallel = spec.dataParallel && exchange && { shards: spec.dataParallel.shards, exchange };
      summary = await trainClassifier({ ...loop, model, adversarial: adversarialTrainingOf(spec), overfittingGuard: guard, dataParallel });
    }

    if (summary.stopped) return await cancelled({ epochsCompleted: summary.epochsCompleted });
    return await succeeded(
      { epochs: summary.epochsCompleted, last: summary.last },
      { result: summary.earlyStop ? { earlyStop: summary.earlyStop } : undefined },
    );
  } finally {
    await exchange?.close();
    model.dispose();
    optimizer.dispose();
  }
}

/** Per epoch of a data-parallel run, means per step: what a step cost and how much of it was the exchange. */
function exchangeMetrics(epoch: number, stats: ExchangeStats) {
  const perStep = (value: number) => (stats.steps ? value / stats.steps : 0);
  return [
    { key: 'dp_step_seconds', step: epoch, value: perStep(stats.stepSeconds) },
    { key: 'dp_shard_compute_seconds', step: epoch, value: perStep(stats.shardComputeSeconds) },
    { key: 'dp_shard_transfer_seconds', step: epoch, value: perStep(stats.shardTransferSeconds) },
    { key: 'dp_trainer_transfer_seconds', step: epoch, value: perStep(stats.trainerTransferSeconds) },
    { key: 'dp_bytes_per_step', step: epoch, value: perStep(stats.bytes) },
  ];
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

/** What a distillation run needs beyond the common fields: its schema requires them, its type leaves them optional. */
function distillationOf(spec: TrainingRunSpec): { temperature: number; teacherCheckpointId: string } {
  const { temperature, teacherCheckpointId } = spec;
  if (temperature === undefined || teacherCheckpointId === undefined) {
    throw new UnrecoverableError('a distillation run needs a temperature and a teacher checkpoint');
  }
  return { temperature, teacherCheckpointId };
}

/** The distillation teacher, rebuilt from its checkpoint (its architecture is its own run's). */
async function loadTeacher(ctx: JobContext, checkpointId: string, train: Dataset): Promise<LayersModel> {
  const checkpoint = await ctx.runs.checkpointData(checkpointId);
  if (!checkpoint) throw new UnrecoverableError(`teacher checkpoint ${checkpointId} no longer exists`);
  return loadCheckpointModel(ctx.runs, checkpoint, train);
}

/**
 * On resume, the guard's best epoch so far: from the stored per-epoch PGD accuracies and that
 * epoch's checkpoint. A collapsed epoch never is the best, however high its PGD accuracy (a
 * 'gap' collapse can be).
 */
async function guardBest(ctx: JobContext, runId: string) {
  const [accuracies, collapsed] = await Promise.all([ctx.runs.metrics(runId, 'guard_pgd_accuracy'), ctx.runs.metrics(runId, 'guard_collapsed')]);
  const collapsedEpochs = new Set(collapsed.map((p) => p.step));
  const series = accuracies.filter((p) => !collapsedEpochs.has(p.step));
  if (!series.length) return undefined;
  // Ties go to the later epoch, as in the guard (the series is in epoch order).
  const best = series.reduce((a, b) => (b.value >= a.value ? b : a));
  const checkpoint = await ctx.runs.checkpointAt(runId, best.step);
  return checkpoint ? { epoch: best.step, accuracy: best.value, checkpoint: checkpoint.data } : undefined;
}
