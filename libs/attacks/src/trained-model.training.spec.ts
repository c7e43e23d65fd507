import * as tf from '@tensorflow/tfjs';
import { apgd } from './apgd';
import type { AttackResult } from './attack-result';
import { bpda } from './bpda';
import { carliniWagner } from './carlini-wagner';
import { useCpuBackend } from './cpu-backend.fixture';
import { deepFool } from './deep-fool';
import { fgsm } from './fgsm';
import { accuracy } from './logits-model';
import { mifgsm } from './mifgsm';
import { quantised, trainedMlp, type TrainedMlp } from './mlp.fixture';
import { pgd } from './pgd';
import { square } from './square';
import { standardSuite } from './standard-suite';
import { blackBoxBeatWhiteBox, gradientHealth, iterativeWeakerThanSingleStep, notBrokenAtLargeEpsilon, stochasticForwardPass } from './validity-checks';

/**
 * Attacks against a small MLP trained in beforeAll (about a second on the cpu backend):
 * the properties an honest evaluation relies on, checked where no closed form exists.
 */
describe('attacks on a trained classifier', () => {
  let mlp: TrainedMlp;
  let clean: boolean[];

  beforeAll(async () => {
    await useCpuBackend();
    mlp = trainedMlp({ trainSteps: 150, testExamples: 32, seed: 3 });
    const correct = tf.tidy(() => tf.equal(tf.argMax(mlp.model(mlp.inputs), 1), mlp.labels));
    clean = Array.from(correct.dataSync(), (c) => c === 1);
    correct.dispose();
  });

  afterAll(() => mlp.dispose());

  const robustUnder = (result: AttackResult) => {
    result.adversarial.dispose();
    return clean.map((c, i) => c && !result.success[i]);
  };
  const count = (flags: boolean[]) => flags.filter(Boolean).length;
  const rate = (flags: boolean[]) => count(flags) / flags.length;

  it('is accurate when clean (otherwise nothing below means anything)', () => {
    expect(rate(clean)).toBeGreaterThan(0.9);
  });

  it('per example, robust under the standard suite ⇒ robust under PGD ⇒ robust under FGSM', async () => {
    const epsilon = 0.1;
    const single = robustUnder(await fgsm({ ...mlp, epsilon }));
    const iterative = robustUnder(await pgd({ ...mlp, epsilon, steps: 10, seed: 1 }));
    const suite = await standardSuite({ ...mlp, epsilon, apgdSteps: 25, targetClasses: 3, squareQueries: 200 });
    suite.adversarial.dispose();

    suite.robust.forEach((r, i) => expect([i, r && !iterative[i]]).toEqual([i, false]));
    iterative.forEach((r, i) => expect([i, r && !single[i]]).toEqual([i, false]));
    // Strictly stronger somewhere, or the comparison proves nothing.
    expect(count(suite.robust)).toBeLessThan(count(single));
    expect(count(suite.robust)).toBeGreaterThan(0);
  });

  it('C&W and DeepFool find smaller L2 perturbations than PGD-L2 at a budget where it breaks as many examples', async () => {
    const cw = await carliniWagner({ ...mlp, binarySearchSteps: 4, maxIterations: 60, learningRate: 0.05, initialConst: 1 });
    const df = await deepFool({ ...mlp });
    // The budget at which PGD-L2 succeeds about as often as C&W did.
    const epsilon = Math.max(...Array.from(cw.l2Norms).filter((_, i) => cw.success[i]));
    const pgdL2 = await pgd({ ...mlp, epsilon, norm: 'l2', steps: 20, seed: 1 });
    tf.dispose([cw.adversarial, df.adversarial, pgdL2.adversarial]);

    expect(count(pgdL2.success)).toBeGreaterThanOrEqual(count(cw.success) - 1);
    const meanOverBoth = (norms: Float32Array, a: boolean[], b: boolean[]) => {
      const picked = Array.from(norms).filter((_, i) => a[i] && b[i]);
      return picked.reduce((s, v) => s + v, 0) / picked.length;
    };
    expect(meanOverBoth(cw.l2Norms, cw.success, pgdL2.success)).toBeLessThan(0.8 * meanOverBoth(pgdL2.l2Norms, cw.success, pgdL2.success));
    expect(meanOverBoth(df.l2Norms, df.success, pgdL2.success)).toBeLessThan(0.8 * meanOverBoth(pgdL2.l2Norms, df.success, pgdL2.success));
  });

  describe('behind input quantisation (a gradient-masking defense)', () => {
    const epsilon = 0.15;

    it('raises the gradient-masking flags, which stay quiet on the plain model', async () => {
      const masked = quantised(mlp.model, 10).model;
      const flags = async (model: typeof mlp.model) => {
        const inputs = { ...mlp, model };
        const single = await fgsm({ ...inputs, epsilon });
        const iterative = await apgd({ ...inputs, epsilon, steps: 20 });
        const targeted = await apgd({ ...inputs, epsilon, steps: 20, loss: 'dlr', targetClasses: 3 });
        const blackBox = await square({ ...inputs, epsilon, queries: 300 });
        const large = await mifgsm({ ...inputs, epsilon: 0.5, steps: 5 });
        tf.dispose([single.adversarial, iterative.adversarial, targeted.adversarial, blackBox.adversarial, large.adversarial]);
        return {
          gradients: (await gradientHealth(inputs)).raised,
          blackBox: blackBoxBeatWhiteBox({ blackBox: blackBox.success, whiteBox: [single.success, iterative.success, targeted.success] }).raised,
          iterative: iterativeWeakerThanSingleStep({ singleStep: single.success, iterative: iterative.success }).raised,
          largeEpsilon: notBrokenAtLargeEpsilon({ curve: [{ epsilon: 0.5, robustAccuracy: 1 - rate(large.success) }] }).raised,
          randomness: (await stochasticForwardPass(inputs)).raised,
        };
      };

      expect(await flags(mlp.model)).toEqual({ gradients: false, blackBox: false, iterative: false, largeEpsilon: false, randomness: false });
      expect(await flags(masked)).toEqual({ gradients: true, blackBox: true, iterative: false, largeEpsilon: true, randomness: false });
    });

    it('looks robust to the naive attack and is broken by BPDA', async () => {
      const { model: masked, preprocess } = quantised(mlp.model, 10);
      expect(await accuracy({ model: masked, inputs: mlp.inputs, labels: mlp.labels })).toBeGreaterThan(0.9);
      const naive = robustUnder(await pgd({ ...mlp, model: masked, epsilon, steps: 10, seed: 2 }));
      const adaptiveResult = await pgd({ ...mlp, model: bpda({ model: mlp.model, preprocess }), epsilon, steps: 10, seed: 2 });
      // Judged on the real defended model, not on the BPDA surrogate.
      const wrongTensor = tf.tidy(() => tf.notEqual(tf.argMax(masked(adaptiveResult.adversarial), 1), mlp.labels));
      const wrong = Array.from(wrongTensor.dataSync(), (w) => w === 1);
      const adaptive = clean.map((c, i) => c && !(adaptiveResult.success[i] && wrong[i]));
      tf.dispose([adaptiveResult.adversarial, wrongTensor]);

      expect(rate(naive)).toBeGreaterThan(0.85);
      expect(rate(adaptive)).toBeLessThan(rate(naive) - 0.4);
    });
  });
});
