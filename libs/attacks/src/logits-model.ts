import * as tf from '@tensorflow/tfjs';

/**
 * Any classifier seen from the attacker's side: a batch of inputs in [0,1] in, logits out.
 * Softmax is deliberately not part of the contract (ARCHITECTURE.md): attacks need the
 * logits for stable losses and for logit-margin attacks.
 */
export type LogitsModel = (inputs: tf.Tensor) => tf.Tensor2D;

export interface PredictOptions {
  model: LogitsModel;
  inputs: tf.Tensor;
}

export interface AccuracyOptions extends PredictOptions {
  /** int32 class ids, one per example. */
  labels: tf.Tensor1D;
}

/** Arg-max class per example, as an int32 tensor the caller disposes. */
export function predictLabels({ model, inputs }: PredictOptions): tf.Tensor1D {
  return tf.tidy(() => tf.argMax<tf.Tensor1D>(model(inputs), 1));
}

/** Fraction of `inputs` the model classifies as `labels`. */
export async function accuracy({ model, inputs, labels }: AccuracyOptions): Promise<number> {
  assertLabelsMatch(inputs, labels);
  if (labels.shape[0] === 0) {
    // An accuracy on zero examples is not a number anyone should store.
    throw new Error('accuracy: empty batch');
  }
  const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(predictLabels({ model, inputs }), labels), 'int32')));
  const count = (await correct.data())[0];
  correct.dispose();
  return count / labels.shape[0];
}

/** Shared argument check: one int32 label per example. */
export function assertLabelsMatch(inputs: tf.Tensor, labels: tf.Tensor1D): void {
  if (labels.rank !== 1 || labels.dtype !== 'int32') {
    throw new Error(`labels must be a rank-1 int32 tensor, got rank ${labels.rank} ${labels.dtype}`);
  }
  if (inputs.rank < 2 || inputs.shape[0] !== labels.shape[0]) {
    throw new Error(`inputs [${inputs.shape}] and labels [${labels.shape}] disagree on the batch size`);
  }
}
