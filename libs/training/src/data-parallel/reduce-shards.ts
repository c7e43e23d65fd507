import * as tf from '@tensorflow/tfjs';
import type { ShardOutcome } from './shard-gradient';
import { writeWeights } from './model-weights';

export interface ReducedStep {
  /** Mean loss over the minibatch's examples. */
  loss: number;
  gradients: Float32Array[];
  state: Float32Array[];
}

/**
 * Weighted mean over the shards, by example count, accumulated in float64 in shard order and
 * rounded once: the same bytes whichever worker computed which shard and in what order they
 * arrived. The mean of per-shard mean losses weighted by size is the minibatch's mean loss.
 */
export function reduceShards(outcomes: readonly ShardOutcome[]): ReducedStep {
  if (!outcomes.length) throw new Error('no shard outcomes to reduce');
  const total = outcomes.reduce((n, o) => n + o.size, 0);
  const mean = (pick: (o: ShardOutcome) => Float32Array[]) =>
    pick(outcomes[0]).map((first, j) => {
      const sum = new Float64Array(first.length);
      for (const outcome of outcomes) {
        const values = pick(outcome)[j];
        if (values.length !== first.length) throw new Error(`shards disagree on the size of weight ${j}`);
        const weight = outcome.size / total;
        for (let i = 0; i < values.length; i += 1) sum[i] += weight * values[i];
      }
      return Float32Array.from(sum);
    });
  return {
    loss: outcomes.reduce((s, o) => s + (o.size / total) * o.loss, 0),
    gradients: mean((o) => o.gradients),
    state: mean((o) => o.state),
  };
}

/** One optimizer step with the reduced gradient, then the reduced state; what minimize would do with a local gradient. */
export function applyReducedStep(model: tf.LayersModel, optimizer: tf.Optimizer, variables: tf.Variable[], reduced: ReducedStep): void {
  const grads: tf.NamedTensorMap = {};
  variables.forEach((v, j) => {
    grads[v.name] = tf.tensor(reduced.gradients[j], v.shape, 'float32');
  });
  try {
    optimizer.applyGradients(grads);
  } finally {
    tf.dispose(grads);
  }
  writeWeights(model.nonTrainableWeights, reduced.state, 'state');
}
