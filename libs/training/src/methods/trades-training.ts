import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { applyModel } from '@bulwark/models';
import type { TradesTraining } from './adversarial-training';
import { craftThenTrain, warmedStepSize, type MinibatchStep, type TrainingContext, type TrainingMethod } from './training-method';

export type TradesTrainingSettings = Required<Pick<TradesTraining, 'epsilon' | 'beta' | 'steps' | 'stepSize'>>;

/** Per-example KL(softmax(p) ‖ softmax(q)) from logits, [B]. */
function klFromLogits(pLogits: tf.Tensor2D, qLogits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(pLogits);
    return tf.sum<tf.Tensor1D>(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(qLogits))), 1);
  });
}

/**
 * TRADES (Zhang et al. 2019); see `TradesTraining`. As in the authors' code: the inner
 * maximisation runs with the model in inference mode, starts at x + 0.001·N(0, 1) (seeded
 * from the run's RNG, one draw per minibatch) and ascends Σᵢ KL(f(xᵢ) ‖ f(x'ᵢ)) with signed
 * steps, each projected onto the ε-ball and [0,1]; the outer loss differentiates through
 * both f(x) and f(x').
 */
export function tradesTraining(context: TrainingContext, settings: TradesTrainingSettings): TrainingMethod {
  const { model } = context;
  const craft = ({ x, epsilon }: MinibatchStep): tf.Tensor => {
    const seed = context.rng.tensorSeed();
    const stepSize = warmedStepSize(settings.stepSize, settings.epsilon, epsilon);
    return tf.tidy(() => {
      const natural = applyModel(model, x, false);
      let current: tf.Tensor = tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', seed), 0.001));
      for (let k = 0; k < settings.steps; k += 1) {
        const previous = current;
        current = tf.tidy(() => {
          // Summed, so each example's gradient does not depend on the batch size.
          const gradient = tf.grad((candidate: tf.Tensor) => tf.sum(klFromLogits(natural, applyModel(model, candidate, false))))(previous);
          const stepped = tf.add(previous, tf.mul(tf.sign(gradient), stepSize));
          return tf.clipByValue(tf.add(x, tf.clipByValue(tf.sub(stepped, x), -epsilon, epsilon)), 0, 1);
        });
        previous.dispose();
      }
      return current;
    });
  };
  return craftThenTrain(context, craft, (batch, xAdv) => {
    const natural = applyModel(model, batch.x, true);
    const ce = softmaxCrossEntropy({ logits: natural, labels: batch.y });
    const kl = klFromLogits(natural, applyModel(model, xAdv, true));
    return tf.mean<tf.Scalar>(tf.add(ce, tf.mul(kl, settings.beta)));
  });
}
