import type * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import type { GradientShardJobData } from '@bulwark/queue';
import { trainingRunSpecSchema } from '@bulwark/spec';
import { computeShardGradient, decodeExamples, decodeFloatArrays, trainingMethodFor, type CreateTrainingMethod } from '@bulwark/training';
import type { JobContext } from '../job-context';
import { buildRunModel } from '../models/run-model';
import { storedSpec } from '../stored-spec';
import { SHARD_DATA_TTL_MS, encodeOutcome, type GradientShardJobResult } from './queue-gradient-exchange';
import { adversarialTrainingOf } from './training-options';

interface RunShardModel {
  runId: string;
  model: tf.LayersModel;
  createMethod: CreateTrainingMethod;
}

// A shard worker serves one run's steps after another: its model is built once, then only its weights change.
let cached: RunShardModel | undefined;
let redis: Redis | undefined;

/**
 * One shard of a data-parallel step: the step's weights and the shard's examples from Redis,
 * the run's method rebuilt from its stored spec, the gradient computed and written back. The
 * answer depends only on those inputs, so a re-delivered shard writes the same bytes.
 */
export async function runGradientShardJob(data: GradientShardJobData, ctx: JobContext): Promise<GradientShardJobResult> {
  const started = performance.now();
  redis ??= new Redis(ctx.queue.redisUrl, { maxRetriesPerRequest: null });
  const [weightsBlob, examplesBlob] = await redis.mgetBuffer(data.keys.weights, data.keys.examples);
  if (!weightsBlob || !examplesBlob) {
    // Expired or deleted: its trainer ended or moved on, and no retry brings them back.
    throw new UnrecoverableError(`the tensors of step ${data.step} shard ${data.shard} are gone from Redis (their trainer ended)`);
  }
  const { model, createMethod } = await shardModel(data, ctx);
  const arrays = decodeFloatArrays(weightsBlob);
  const trainableCount = model.trainableWeights.length;
  const weights = { trainable: arrays.slice(0, trainableCount), state: arrays.slice(trainableCount) };
  const examples = decodeExamples(examplesBlob, `run ${data.runId} step ${data.step} shard ${data.shard}`);
  const read = performance.now();
  const outcome = await computeShardGradient(model, createMethod, weights, { shard: data.shard, examples, epsilon: data.epsilon, seed: data.seed });
  const computed = performance.now();
  await redis.set(data.keys.outcome, encodeOutcome(outcome), 'PX', SHARD_DATA_TTL_MS);
  const written = performance.now();
  return { computeSeconds: (computed - read) / 1000, transferSeconds: (read - started + written - computed) / 1000 };
}

async function shardModel(data: GradientShardJobData, ctx: JobContext): Promise<RunShardModel> {
  if (cached?.runId === data.runId) return cached;
  const run = await ctx.runs.find(data.runId);
  if (!run) throw new UnrecoverableError(`run ${data.runId} does not exist`);
  const spec = storedSpec(trainingRunSpecSchema, run.spec);
  if (!spec.dataParallel) throw new UnrecoverableError(`run ${data.runId} is not a data-parallel run`);
  const model = await buildRunModel(ctx.runs, run, { shape: data.inputShape, classNames: data.classNames }, spec.seed);
  cached?.model.dispose();
  cached = { runId: data.runId, model, createMethod: trainingMethodFor(adversarialTrainingOf(spec)) };
  ctx.log(`gradient shards of run ${data.runId}: model built`);
  return cached;
}
