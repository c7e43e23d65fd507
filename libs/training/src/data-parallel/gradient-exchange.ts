import * as tf from '@tensorflow/tfjs';
import { takeExamples, type Dataset } from '@bulwark/data';
import { readModelWeights, type ModelWeights } from './model-weights';
import { applyReducedStep, reduceShards } from './reduce-shards';
import { computeShardGradient, type CreateTrainingMethod, type ShardOutcome, type ShardTask } from './shard-gradient';
import { shardSeed, splitIntoShards } from './shard-split';

/** One minibatch's shards, at one step's weights. */
export interface ShardedStep {
  /** The run's optimizer step (0-based, counting every epoch): names the step's data. */
  step: number;
  weights: ModelWeights;
  tasks: ShardTask[];
}

/**
 * Where the shards of a step are computed: the worker pool through the queue, or this process.
 * Resolves with one outcome per task, in task order, whatever order they finished in.
 */
export interface GradientExchange {
  computeShards(step: ShardedStep): Promise<ShardOutcome[]>;
}

/** Every shard in this process, one after the other: the reference the distributed exchange must match byte for byte. */
export function localGradientExchange(model: tf.LayersModel, createMethod: CreateTrainingMethod): GradientExchange {
  return {
    computeShards: async ({ weights, tasks }) => {
      const outcomes: ShardOutcome[] = [];
      // One after the other: each writes the step's weights into the same model before its pass.
      for (const task of tasks) outcomes.push(await computeShardGradient(model, createMethod, weights, task));
      // The shards wrote their own state into the model: the reduced state replaces it.
      return outcomes;
    },
  };
}

export interface DataParallelStepOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  train: Dataset;
  indices: Uint32Array;
  epsilon: number;
  /** Drawn by the trainer from the run's RNG, once per minibatch. */
  seed: number;
  shards: number;
  step: number;
  exchange: GradientExchange;
}

/**
 * One optimizer step of data-parallel training: the minibatch split into `shards` fixed
 * shards, each crafted and differentiated wherever the exchange sends it against this step's
 * weights, the gradients reduced in shard order and applied here. Returns the minibatch's loss.
 */
export async function dataParallelStep(options: DataParallelStepOptions): Promise<number> {
  const { model, optimizer, variables, train, indices, epsilon, seed, shards, step, exchange } = options;
  const weights = await readModelWeights(model);
  const tasks = splitIntoShards(indices.length, shards).map(({ start, size }, shard) => ({
    shard,
    examples: takeExamples(train, indices.subarray(start, start + size), `${train.name} step ${step} shard ${shard}`),
    epsilon,
    seed: shardSeed(seed, shard),
  }));
  const outcomes = await exchange.computeShards({ step, weights, tasks });
  if (outcomes.length !== tasks.length) throw new Error(`the exchange returned ${outcomes.length} shard outcomes for ${tasks.length} shards`);
  outcomes.forEach((outcome, k) => {
    if (outcome.size !== tasks[k].examples.size) throw new Error(`shard ${k} reports ${outcome.size} examples, it was sent ${tasks[k].examples.size}`);
  });
  const reduced = reduceShards(outcomes);
  applyReducedStep(model, optimizer, variables, reduced);
  return reduced.loss;
}
