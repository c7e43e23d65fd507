import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { applyModel } from '@bulwark/models';
import type { FreeTraining } from './adversarial-training';
import { warmedStepSize, type TrainingContext, type TrainingMethod } from './training-method';

export type FreeTrainingSettings = Required<Pick<FreeTraining, 'epsilon' | 'replays' | 'stepSize'>>;

/**
 * Free adversarial training (Shafahi et al. 2019); see `FreeTraining` for how replays and
 * epochs are counted. As in the authors' code, the model sees clip(x + δ, 0, 1) and δ itself
 * is only kept in [−ε, ε]; a smaller last minibatch takes the first rows of the carried δ.
 * Draws nothing from the run's RNG (δ starts at 0).
 */
export function freeTraining(context: TrainingContext, settings: FreeTrainingSettings): TrainingMethod {
  const { model, optimizer, variables } = context;
  if (!optimizer) throw new Error('free adversarial training updates the weights as it crafts: it needs an optimizer');
  let carried: tf.Tensor | undefined;

  const startingDelta = (x: tf.Tensor4D): tf.Tensor =>
    tf.tidy(() => {
      if (carried === undefined) return tf.zerosLike(x);
      const rows = x.shape[0];
      const have = carried.shape[0];
      if (rows <= have) return tf.slice(carried, 0, rows);
      return tf.concat([carried, tf.zeros([rows - have, ...x.shape.slice(1)])]);
    });

  return {
    replays: settings.replays,
    step: ({ x, y, epsilon }) => {
      const stepSize = warmedStepSize(settings.stepSize, settings.epsilon, epsilon);
      // One backward pass for both gradients: δ joins the differentiated variables for this step only.
      const initial = startingDelta(x);
      const delta = tf.variable(initial, true);
      initial.dispose();
      try {
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(
            () => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, tf.clipByValue(tf.add(x, delta), 0, 1), true), labels: y })),
            [...variables, delta],
          );
          // In the variables' order: the optimizer keys its slot variables by position.
          optimizer.applyGradients(Object.fromEntries(variables.map((variable) => [variable.name, grads[variable.name]])));
          const next = tf.clipByValue(tf.add(delta, tf.mul(tf.sign(grads[delta.name]), stepSize)), -epsilon, epsilon);
          carried?.dispose();
          carried = tf.keep(next);
          return value;
        });
      } finally {
        delta.dispose();
      }
    },
    endEpoch: () => {
      carried?.dispose();
      carried = undefined;
    },
  };
}
