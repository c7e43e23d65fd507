import * as tf from '@tensorflow/tfjs';
import { fgsm, predictLabels, type LogitsModel } from '@bulwark/attacks';
import { makeBatch, sequentialBatches, type Dataset } from '@bulwark/data';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';

export interface EvaluateFgsmOptions {
  model: LogitsModel;
  dataset: Dataset;
  epsilon: number;
  /** Only bounds memory; results do not depend on it. */
  batchSize?: number;
}

export interface FgsmEvaluation {
  cleanAccuracy: number;
  /** Per example: correct on the clean input AND on its (valid) FGSM input. */
  adversarialAccuracy: number;
  /** n, the number of examples both accuracies were measured on (the whole dataset). */
  examples: number;
}

export const DEFAULT_EVAL_BATCH_SIZE = 256;

/** Clean and FGSM robust accuracy over a whole dataset, in batches. */
export async function evaluateFgsm({ model, dataset, epsilon, batchSize = DEFAULT_EVAL_BATCH_SIZE }: EvaluateFgsmOptions): Promise<FgsmEvaluation> {
  if (dataset.size === 0) {
    throw new Error(`cannot evaluate on the empty dataset ${dataset.name}`);
  }
  let clean = 0;
  let robust = 0;
  for (const { indices } of sequentialBatches(dataset, batchSize)) {
    const { x, y } = makeBatch(dataset, indices);
    try {
      const correctTensor = tf.tidy(() => tf.equal(predictLabels({ model, inputs: x }), y));
      const correct = await correctTensor.data();
      correctTensor.dispose();
      const attack = await fgsm({ model, inputs: x, labels: y, epsilon });
      attack.adversarial.dispose();
      correct.forEach((isCorrect, i) => {
        if (isCorrect === 1) {
          clean += 1;
          // An example the model gets wrong when clean is not robust, whatever the attack did.
          if (!attack.success[i]) robust += 1;
        }
      });
    } finally {
      tf.dispose([x, y]);
    }
    await yieldToEventLoop();
  }
  return { cleanAccuracy: clean / dataset.size, adversarialAccuracy: robust / dataset.size, examples: dataset.size };
}
