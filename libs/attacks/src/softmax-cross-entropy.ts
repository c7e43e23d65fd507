import * as tf from '@tensorflow/tfjs';

export interface SoftmaxCrossEntropyOptions {
  logits: tf.Tensor2D;
  /** int32 class ids, one per row of `logits`. */
  labels: tf.Tensor1D;
}

/**
 * Per-example softmax cross-entropy from logits and sparse labels. Per-example (not reduced)
 * so callers choose: training takes the mean, attacks take the sum so that each example's
 * input gradient does not shrink with the batch size.
 */
export function softmaxCrossEntropy({ logits, labels }: SoftmaxCrossEntropyOptions): tf.Tensor1D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, logits.shape[1]);
    // logSoftmax subtracts the row max first, so large logits do not overflow exp().
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
  });
}
