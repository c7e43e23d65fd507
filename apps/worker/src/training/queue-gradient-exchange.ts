import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { GRADIENT_GPU_QUEUE, GRADIENT_QUEUE, GRADIENT_SHARD_JOB, GradientShardJobData, gradientShardJobOptions, redisConnectionOptions } from '@bulwark/queue';
import { decodeFloatArrays, encodeExamples, encodeFloatArrays, type GradientExchange, type ShardOutcome, type ShardedStep } from '@bulwark/training';
import type { Dataset } from '@bulwark/data';

/** How long a step's tensors outlive it at most: a trainer that dies mid-step leaves nothing behind for longer. */
export const SHARD_DATA_TTL_MS = 10 * 60 * 1000;
/** A shard not finished by then means no worker consumes the gradients queue (or every one is stuck). */
const SHARD_TIMEOUT_MS = SHARD_DATA_TTL_MS;

/** What the exchange cost, summed over the steps since the last `takeStats`. */
export interface ExchangeStats {
  steps: number;
  /** Wall time from sending a step's tensors to having its reduced gradient's inputs back. */
  stepSeconds: number;
  /** The shards' compute (crafting and differentiating), summed over shards. */
  shardComputeSeconds: number;
  /** The shards' own exchange: reading weights and examples, writing their answer, summed over shards. */
  shardTransferSeconds: number;
  /** The trainer's side: encoding and writing the step's tensors, queueing, reading and decoding the answers. */
  trainerTransferSeconds: number;
  /** Bytes through Redis, both ways. */
  bytes: number;
}

/** What a shard job returns (its tensors are in Redis): where its time went. */
export interface GradientShardJobResult {
  computeSeconds: number;
  transferSeconds: number;
}

export interface QueueGradientExchange extends GradientExchange {
  takeStats(): ExchangeStats;
  close(): Promise<void>;
}

/**
 * The exchange of data-parallel training over the stores Bulwark already has: a step's weights
 * and each shard's examples go to Redis as binary values with an expiry, one `gradient-shard`
 * job per shard goes on the gradients queue for any worker to take, and the answers come back
 * the same way once BullMQ reports every job finished. A shard whose worker dies is re-delivered
 * by BullMQ and recomputed from the same inputs, so the step's result does not change.
 */
export async function createQueueGradientExchange(options: {
  redisUrl: string;
  prefix: string;
  /** The gradients queue, or its GPU counterpart for a run that requires a GPU. */
  queueName: typeof GRADIENT_QUEUE | typeof GRADIENT_GPU_QUEUE;
  runId: string;
  dataset: Pick<Dataset, 'shape' | 'classNames'>;
}): Promise<QueueGradientExchange> {
  const connection = redisConnectionOptions(options.redisUrl);
  const queue = new Queue<GradientShardJobData, GradientShardJobResult>(options.queueName, { connection, prefix: options.prefix });
  const events = new QueueEvents(options.queueName, { connection, prefix: options.prefix });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  await events.waitUntilReady();
  // Keys of this delivery only: a re-delivered trainer never reads an answer computed for its predecessor.
  const delivery = randomUUID();
  let stats = emptyStats();

  async function computeShards({ step, weights, tasks }: ShardedStep): Promise<ShardOutcome[]> {
    const started = performance.now();
    const base = `${options.prefix}:dp:${options.runId}:${delivery}:${step}`;
    const weightsKey = `${base}:weights`;
    const weightsBlob = encodeFloatArrays([...weights.trainable, ...weights.state]);
    const jobs = tasks.map((task) => ({
      task,
      examples: encodeExamples(task.examples),
      keys: { weights: weightsKey, examples: `${base}:${task.shard}:examples`, outcome: `${base}:${task.shard}:outcome` },
    }));
    const write = redis.multi().set(weightsKey, weightsBlob, 'PX', SHARD_DATA_TTL_MS);
    for (const { keys, examples } of jobs) write.set(keys.examples, examples, 'PX', SHARD_DATA_TTL_MS);
    await write.exec();
    const queued = await queue.addBulk(
      jobs.map(({ task, keys }) => ({
        name: GRADIENT_SHARD_JOB,
        data: {
          runId: options.runId,
          step,
          shard: task.shard,
          shards: tasks.length,
          epsilon: task.epsilon,
          seed: task.seed,
          inputShape: [...options.dataset.shape],
          classNames: [...options.dataset.classNames],
          keys,
        },
        opts: gradientShardJobOptions(),
      })),
    );
    const sent = performance.now();
    const results: GradientShardJobResult[] = await Promise.all(
      queued.map((job, k) =>
        job.waitUntilFinished(events, SHARD_TIMEOUT_MS).catch((err: unknown) => {
          throw new Error(`shard ${k} of step ${step} failed: ${(err as Error).message} (is a worker consuming the "${options.queueName}" queue?)`);
        }),
      ),
    );
    const received = performance.now();
    const blobs = await redis.mgetBuffer(...jobs.map((j) => j.keys.outcome));
    await redis.del(weightsKey, ...jobs.flatMap((j) => [j.keys.examples, j.keys.outcome]));
    const outcomes = blobs.map((blob, k) => {
      if (!blob) throw new Error(`the answer of shard ${k} of step ${step} is gone from Redis`);
      return decodeOutcome(blob, weights.trainable.length);
    });
    const ended = performance.now();
    stats.steps += 1;
    stats.stepSeconds += (ended - started) / 1000;
    stats.trainerTransferSeconds += (sent - started + ended - received) / 1000;
    stats.shardComputeSeconds += results.reduce((s, r) => s + r.computeSeconds, 0);
    stats.shardTransferSeconds += results.reduce((s, r) => s + r.transferSeconds, 0);
    stats.bytes += weightsBlob.length * jobs.length + jobs.reduce((s, j) => s + j.examples.length, 0) + blobs.reduce((s, b) => s + (b?.length ?? 0), 0);
    return outcomes;
  }

  return {
    computeShards,
    takeStats: () => {
      const taken = stats;
      stats = emptyStats();
      return taken;
    },
    close: async () => {
      await Promise.allSettled([events.close(), queue.close(), redis.quit()]);
    },
  };
}

function emptyStats(): ExchangeStats {
  return { steps: 0, stepSeconds: 0, shardComputeSeconds: 0, shardTransferSeconds: 0, trainerTransferSeconds: 0, bytes: 0 };
}

/** A shard's answer as one float-array blob: [size, loss], then its gradients, then its state. */
export function encodeOutcome({ size, loss, gradients, state }: ShardOutcome): Buffer {
  return encodeFloatArrays([Float32Array.of(size, loss), ...gradients, ...state]);
}

export function decodeOutcome(blob: Buffer, trainableCount: number): ShardOutcome {
  const [head, ...rest] = decodeFloatArrays(blob);
  if (head.length !== 2 || rest.length < trainableCount) throw new Error('a shard answer without its size, loss and gradients');
  return { size: head[0], loss: head[1], gradients: rest.slice(0, trainableCount), state: rest.slice(trainableCount) };
}
