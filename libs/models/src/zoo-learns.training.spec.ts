import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { loadDataset, makeBatch, subsetDataset, type Dataset } from '@bulwark/data';
import { MODEL_NAMES } from '@bulwark/spec';
import { applyModel, createModel } from './model-zoo';

/**
 * Every zoo model, on real images and the training backend (wasm with the project's gradient
 * kernels): a few Adam steps on one real batch must bring its loss well down. A model whose
 * wiring is wrong (a dead branch, a frozen layer, a broken gradient kernel) does not.
 */
describe('every zoo model learns on real data', () => {
  let digits: Dataset;
  let fashion: Dataset | undefined;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    digits = subsetDataset(loadDataset('mnist', { testFraction: 0.2, seed: 1 }).train, 16);
    try {
      fashion = subsetDataset(loadDataset('fashion-mnist').train, 16);
    } catch {
      // The test command installs dataset-fashion-mnist; a bare checkout may not have it.
      fashion = undefined;
    }
  });

  it.each(MODEL_NAMES.map((name) => [name]))('%s fits a batch of 16 real digits', (name) => {
    expect(overfitLoss(name, digits)).toBeLessThan(0.5);
  });

  it('cnn-small fits a batch of 16 real Fashion-MNIST images', () => {
    if (!fashion) throw new Error('Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (scripts/test.sh does)');
    expect(overfitLoss('cnn-small', fashion)).toBeLessThan(0.5);
  });
});

/**
 * The loss on `ds` after 20 Adam steps on it (starting near ln 10 ≈ 2.3), measured in training
 * mode: after so few steps, batch norm's moving statistics (resnet-small) still lag behind.
 */
function overfitLoss(name: (typeof MODEL_NAMES)[number], ds: Dataset): number {
  const model = createModel({ name, inputShape: ds.shape, numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(2e-3);
  const { x, y } = makeBatch(
    ds,
    Uint32Array.from({ length: ds.size }, (_, i) => i),
  );
  const loss = () => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, x, true), labels: y }));
  try {
    for (let step = 0; step < 20; step += 1) optimizer.minimize(loss, true)?.dispose();
    return tf.tidy(() => loss().dataSync()[0]);
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }
}
