import * as tf from '@tensorflow/tfjs';
import { createRng, makeBatch, type Dataset } from '@bulwark/data';
import { trainableVariables } from '@bulwark/models';
import type { TrainingContext, TrainingMethod } from '../methods/training-method';
import { readWeights, writeModelWeights, type ModelWeights } from './model-weights';

/** Builds the run's training method for a context; a shard builds a fresh one per task. */
export type CreateTrainingMethod = (context: TrainingContext) => TrainingMethod;

/** One shard of one minibatch, as any worker receives it. */
export interface ShardTask {
  shard: number;
  examples: Dataset;
  /** The minibatch's training ε (after warm-up). */
  epsilon: number;
  /** Seeds the shard's random starts (shardSeed of the minibatch's seed). */
  seed: number;
}

/** What a shard sends back: its size, its mean loss and, per weight, its gradient and its state after the forward pass. */
export interface ShardOutcome {
  size: number;
  loss: number;
  gradients: Float32Array[];
  state: Float32Array[];
}

/**
 * The gradient of the method's loss on one shard at `weights`: crafts the shard's adversarial
 * examples against those weights (random starts seeded by the task alone) and differentiates.
 * Every input is set from the task, so any process computes the same bytes.
 */
export async function computeShardGradient(
  model: tf.LayersModel,
  createMethod: CreateTrainingMethod,
  weights: ModelWeights,
  task: ShardTask,
): Promise<ShardOutcome> {
  writeModelWeights(model, weights);
  const variables = trainableVariables(model);
  const method = createMethod({ model, variables, rng: createRng(task.seed) });
  if (!method.gradients) throw new Error('this training method keeps state across steps and cannot be split into shards');
  const indices = Uint32Array.from({ length: task.examples.size }, (_, i) => i);
  const { x, y } = makeBatch(task.examples, indices);
  try {
    const { loss, grads } = method.gradients({ x, y, epsilon: task.epsilon });
    try {
      const [lossValue, gradients, state] = await Promise.all([
        loss.data(),
        Promise.all(
          variables.map(async (v) => {
            const grad = grads[v.name] as tf.Tensor | undefined;
            // A variable the loss does not reach has a zero gradient, as tf's optimizers treat it.
            return grad ? Float32Array.from(await grad.data()) : new Float32Array(v.size);
          }),
        ),
        readWeights(model.nonTrainableWeights),
      ]);
      return { size: task.examples.size, loss: lossValue[0], gradients, state };
    } finally {
      tf.dispose([loss, grads]);
    }
  } finally {
    tf.dispose([x, y]);
  }
}
