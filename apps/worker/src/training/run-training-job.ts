import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { DATASET_NAMES, MODEL_NAMES, RunJobData, RunSpec, TrainingJobName, TrainingRunSpec } from '@bulwark/jobs';
import {
  EpochResult,
  checkpointDigest,
  createModel,
  createRng,
  restoreCheckpoint,
  restoreRng,
  serializeCheckpoint,
  trainClassifier,
} from '@bulwark/training';
import { JobContext, loadRunDataset } from '../job-context';
import { throttle } from '../throttle';

export const CHECKPOINT_FORMAT = 'bulwark-ckpt-v1';

export type TrainingJobOutcome =
  | { status: 'succeeded'; epochs: number; last?: EpochResult }
  | { status: 'cancelled'; epochsCompleted: number }
  | { status: 'skipped'; reason: string };

/**
 * Turns a `train` / `adversarial-train` job into calls on @bulwark/training, writing every
 * epoch's metrics and checkpoint to Postgres as it goes. A re-delivered job resumes from the
 * newest checkpoint. Throws on failure (BullMQ retries); configuration errors are unrecoverable.
 */
export async function runTrainingJob(
  jobName: TrainingJobName,
  data: RunJobData,
  ctx: JobContext,
): Promise<TrainingJobOutcome> {
  const run = await ctx.ledger.find(data.runId);
  if (!run) throw new UnrecoverableError(`run ${data.runId} does not exist`);
  const spec = checkSpec(jobName, run.spec);

  const started = await ctx.ledger.markRunning(run.id, ctx.backend, ctx.attempt);
  if (!started) {
    if (run.cancelRequestedAt) await ctx.ledger.markCancelled(run.id);
    return { status: 'skipped', reason: `run is ${run.cancelRequestedAt ? 'cancelled' : run.status}` };
  }

  const { train, test } = loadRunDataset(spec.dataset, { testFraction: spec.testFraction, seed: spec.seed }, ctx.datasetDirs);
  const model = createModel({ name: spec.model, inputShape: train.shape, numClasses: train.classNames.length, seed: spec.seed });
  const optimizer = tf.train.adam(spec.learningRate);
  let rng = createRng(spec.seed);
  let startEpoch = 0;
  try {
    const checkpoint = await ctx.ledger.latestCheckpoint(run.id);
    if (checkpoint) {
      const restored = await restoreCheckpoint(checkpoint.data, { model, optimizer });
      rng = restoreRng(restored.rngState);
      startEpoch = restored.epoch;
      ctx.log(`run ${run.id}: resuming after epoch ${startEpoch} from checkpoint ${checkpoint.sha256.slice(0, 12)}`);
    }

    const cancelRequested = throttle(() => ctx.ledger.isCancelRequested(run.id), ctx.cancelPollMs, false);
    const progress = throttle(async (fraction: number) => {
      await Promise.all([ctx.reportProgress(fraction), ctx.ledger.setProgress(run.id, fraction)]);
    }, 1000, undefined);

    const attack = { attack: spec.attack.name, epsilon: spec.attack.epsilon };
    const summary = await trainClassifier({
      model,
      optimizer,
      train,
      test,
      rng,
      startEpoch,
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      evalAttack: attack,
      adversarial: spec.kind === 'adversarial-training' ? attack : undefined,
      shouldStop: cancelRequested,
      onBatchEnd: ({ epoch, batch, batches }) => progress(((epoch - 1) + (batch + 1) / batches) / spec.epochs),
      onEpochEnd: async (result) => {
        await ctx.ledger.upsertMetrics(run.id, epochMetrics(spec, result));
        const bytes = await serializeCheckpoint({ model, optimizer, epoch: result.epoch, rngState: rng.state() });
        await ctx.ledger.saveCheckpoint(run.id, result.epoch, bytes, checkpointDigest(bytes), CHECKPOINT_FORMAT);
      },
    });

    if (summary.stopped) {
      await ctx.ledger.markCancelled(run.id);
      return { status: 'cancelled', epochsCompleted: summary.epochsCompleted };
    }
    await ctx.ledger.markSucceeded(run.id);
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
    // Peak resident memory of the job's process so far (processes are reused across jobs).
    { key: 'peak_rss_mib', step: r.epoch, value: process.resourceUsage().maxRSS / 1024 },
  ];
}

/** A stored spec the worker cannot execute is a configuration error: retrying cannot fix it. */
function checkSpec(jobName: TrainingJobName, stored: RunSpec): TrainingRunSpec {
  const expectedKind = jobName === 'adversarial-train' ? 'adversarial-training' : 'train';
  if (stored.kind !== expectedKind) throw new UnrecoverableError(`job ${jobName} cannot run a run of kind "${stored.kind}"`);
  const spec = stored as TrainingRunSpec;
  if (!(DATASET_NAMES as readonly string[]).includes(spec.dataset)) throw new UnrecoverableError(`unknown dataset "${spec.dataset}"`);
  if (!(MODEL_NAMES as readonly string[]).includes(spec.model)) throw new UnrecoverableError(`unknown model "${spec.model}"`);
  if (!(spec.attack.epsilon > 0 && spec.attack.epsilon <= 1)) throw new UnrecoverableError(`attack.epsilon ${spec.attack.epsilon} is outside (0, 1]`);
  if (!(Number.isInteger(spec.epochs) && spec.epochs >= 1)) throw new UnrecoverableError(`epochs ${spec.epochs} is not a positive integer`);
  if (!(Number.isInteger(spec.batchSize) && spec.batchSize >= 1)) throw new UnrecoverableError(`batchSize ${spec.batchSize} is not a positive integer`);
  return spec;
}
