import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy, type LogitsModel } from '@bulwark/attacks';
import { applyModel } from '@bulwark/models';
import { minimizeLoss, type TrainingContext, type TrainingMethod } from './training-method';

/** Mean cross-entropy of softmax(logits / T) against the hard labels: a teacher trained at temperature T. */
export function temperatureTraining(context: TrainingContext, temperature: number): TrainingMethod {
  return {
    replays: 1,
    step: ({ x, y }) =>
      tf.tidy(() =>
        minimizeLoss(context, () =>
          tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: tf.div<tf.Tensor2D>(applyModel(context.model, x, true), temperature), labels: y })),
        ),
      ),
    endEpoch: () => undefined,
  };
}

/**
 * Mean over the batch of −Σⱼ pⱼ·log softmax(z / T)ⱼ with p = softmax(teacher(x) / T), the
 * teacher's soft labels recomputed on every minibatch (the teacher is fixed, so this equals
 * relabelling the training set once). Not scaled by T²: Papernot et al. train on the soft
 * labels alone, and T² only balances soft against hard targets when both are mixed (Hinton et al.).
 */
export function distillationTraining(context: TrainingContext, teacher: LogitsModel, temperature: number): TrainingMethod {
  return {
    replays: 1,
    step: ({ x }) =>
      tf.tidy(() => {
        const soft = tf.softmax(tf.div(teacher(x), temperature));
        return minimizeLoss(context, () => softLabelCrossEntropy(tf.div<tf.Tensor2D>(applyModel(context.model, x, true), temperature), soft));
      }),
    endEpoch: () => undefined,
  };
}

/** mean_i −Σⱼ targetᵢⱼ·log softmax(logitsᵢ)ⱼ; with one-hot targets this is `softmaxCrossEntropy`'s mean, bit for bit. */
export function softLabelCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean<tf.Scalar>(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))));
}
