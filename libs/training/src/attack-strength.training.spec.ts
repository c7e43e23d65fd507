import * as tf from '@tensorflow/tfjs';
import { fgsm, pgd, standardSuite } from '@bulwark/attacks';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, makeBatch, splitDataset, subsetDataset } from '@bulwark/data';
import { asLogitsModel, createModel } from '@bulwark/models';
import { trainClassifier } from './train-classifier';

/**
 * On a trained small CNN, per example: whatever survives the standard suite survives PGD, and
 * whatever survives PGD survives FGSM. Stronger attacks must find a superset of what weaker
 * ones find; the day one does not, an attack (or a kernel under it) has regressed.
 */
describe('attack strength on a trained cnn-small (per example)', () => {
  it('robust(suite) ⊆ robust(PGD-20) ⊆ robust(FGSM) at ε = 0.1, and each is a real drop', async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const { train, test } = splitDataset(subsetDataset(loadMnistDigits(), 2600), { testFraction: 64 / 2600, seed: 11 });
    const model = createModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 11 });
    const optimizer = tf.train.adam(1e-3);
    await trainClassifier({ model, optimizer, train, test, epochs: 2, batchSize: 64, rng: createRng(11), evalAttack: { attack: 'fgsm', epsilon: 0.1 } });
    const logits = asLogitsModel(model);
    const { x, y } = makeBatch(
      test,
      Uint32Array.from({ length: test.size }, (_, i) => i),
    );
    const clean = Array.from(await tf.tidy(() => tf.equal(tf.argMax(logits(x), 1), y)).data(), Boolean);

    const single = await fgsm({ model: logits, inputs: x, labels: y, epsilon: 0.1 });
    const iterative = await pgd({ model: logits, inputs: x, labels: y, epsilon: 0.1, steps: 20, stepSize: 0.0125, seed: 1 });
    const suite = await standardSuite({ model: logits, inputs: x, labels: y, epsilon: 0.1, seed: 1, apgdSteps: 30, targetClasses: 2, squareQueries: 200 });
    const robust = (success: boolean[]) => success.map((s, i) => clean[i] && !s);
    const [rFgsm, rPgd, rSuite] = [robust(single.success), robust(iterative.success), suite.robust];

    rSuite.forEach((r, i) => r && expect({ example: i, pgdRobust: rPgd[i] }).toEqual({ example: i, pgdRobust: true }));
    rPgd.forEach((r, i) => r && expect({ example: i, fgsmRobust: rFgsm[i] }).toEqual({ example: i, fgsmRobust: true }));
    const count = (xs: boolean[]) => xs.filter(Boolean).length;
    expect(count(clean)).toBeGreaterThan(50);
    expect(count(rPgd)).toBeLessThan(count(rFgsm));
    expect(count(rSuite)).toBeLessThanOrEqual(count(rPgd));

    tf.dispose([x, y, single.adversarial, iterative.adversarial, suite.adversarial]);
    model.dispose();
    optimizer.dispose();
  }, 120_000);
});
