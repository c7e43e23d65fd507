import * as tf from '@tensorflow/tfjs';
import { asLogitsModel, createModel } from '@bulwark/models';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, splitDataset, subsetDataset, type Dataset } from '@bulwark/data';
import { trainClassifier } from './train-classifier';
import { evaluateRobustness, type EvaluateRobustnessOptions, type RobustnessEvaluation } from '@bulwark/evaluation';

const quickParams = {
  pgd: { steps: 10, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
  apgd: { steps: 10, restarts: 1 },
  apgdTargeted: { steps: 10, targetClasses: 2 },
  square: { queries: 40, pInit: 0.8 },
};

describe('evaluateRobustness', () => {
  let test: Dataset;
  let model: tf.LayersModel;
  let result: RobustnessEvaluation;
  let options: EvaluateRobustnessOptions;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    const split = splitDataset(subsetDataset(loadMnistDigits(), 1600), { testFraction: 0.05, seed: 3 });
    test = split.test;
    model = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    const optimizer = tf.train.adam(1e-3);
    await trainClassifier({
      model,
      optimizer,
      train: split.train,
      test,
      epochs: 1,
      batchSize: 64,
      rng: createRng(3),
      evalAttack: { attack: 'fgsm', epsilon: 0.1 },
    });
    optimizer.dispose();
    options = {
      model: asLogitsModel(model),
      dataset: test,
      epsilons: [0.3, 0, 0.1, 0.5],
      norm: 'linf',
      attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
      params: quickParams,
      seed: 7,
      galleryPerEpsilon: 3,
      batchSize: 32,
    };
    result = await evaluateRobustness(options);
  }, 120_000);

  afterAll(() => model?.dispose());

  const robust = (epsilon: number, attack: string) => result.points.find((p) => p.epsilon === epsilon)!.outcomes.find((o) => o.attack === attack)!;

  it('measures every ε in ascending order, on all n examples, with counts', () => {
    expect(result.n).toBe(test.size);
    expect(result.points.map((p) => p.epsilon)).toEqual([0, 0.1, 0.3, 0.5]);
    for (const p of result.points) {
      expect(p.outcomes.map((o) => o.attack)).toEqual(['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square', 'suite']);
      for (const o of p.outcomes) expect(o.n).toBe(test.size);
    }
  });

  it('at ε = 0 robust accuracy is clean accuracy, and the clean model is good', () => {
    const suite = robust(0, 'suite');
    expect(suite.robustCorrect).toBe(suite.cleanCorrect);
    expect(suite.cleanCorrect / suite.n).toBeGreaterThan(0.75);
  });

  it('the per-example worst case is at most every single attack, and each suite stage only lowers it', () => {
    for (const epsilon of [0.1, 0.3, 0.5]) {
      const suite = robust(epsilon, 'suite').robustCorrect;
      for (const attack of ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square']) expect(suite).toBeLessThanOrEqual(robust(epsilon, attack).robustCorrect);
      expect(robust(epsilon, 'apgd-t').robustCorrect).toBeLessThanOrEqual(robust(epsilon, 'apgd-ce').robustCorrect);
    }
    // A plainly trained MLP has no robustness at ε = 0.3: strong attacks leave ~nothing.
    expect(robust(0.3, 'suite').robustCorrect / result.n).toBeLessThan(0.05);
  });

  it('raises no validity flag on a plain, deterministic model with working attacks', () => {
    const raised = result.flags.filter((f) => f.raised);
    expect(raised.map((f) => `${f.flag}@${String(f.epsilon)}: ${f.detail}`)).toEqual([]);
    expect(result.flags.map((f) => f.flag)).toEqual(
      expect.arrayContaining([
        'zero-or-nan-gradients',
        'stochastic-forward-pass',
        'robustness-rose-with-epsilon',
        'not-broken-at-large-epsilon',
        'iterative-weaker-than-single-step',
        'black-box-beat-white-box',
      ]),
    );
  });

  it('keeps gallery examples whose perturbation is inside the ball and which the model gets wrong', () => {
    const p = result.points.find((q) => q.epsilon === 0.1)!;
    expect(p.gallery).toHaveLength(3);
    for (const g of p.gallery) {
      expect(g.shape).toEqual([28, 28, 1]);
      expect(g.clean).toHaveLength(784);
      if (g.attack === null) continue;
      expect(g.linfNorm).toBeLessThanOrEqual(0.1 + 1e-5);
      expect(g.adversarialPrediction).not.toBe(g.label);
      // uint8 rounding moves a pixel by at most half a level.
      const maxDiff = Math.max(...g.clean.map((c, i) => Math.abs(c - g.adversarial[i])));
      expect(maxDiff).toBeLessThanOrEqual(Math.ceil(0.1 * 255) + 1);
    }
  });

  it('flags a gradient-masked model (inputs thresholded) and does not call it robust at a large ε', async () => {
    const plain = asLogitsModel(model);
    const masked = (x: tf.Tensor) => plain(tf.step(tf.sub(x, 0.5)));
    const evaluation = await evaluateRobustness({ ...options, model: masked, epsilons: [0.1, 0.5], attacks: ['fgsm', 'pgd'], galleryPerEpsilon: 0 });
    const raised = new Set(evaluation.flags.filter((f) => f.raised).map((f) => f.flag));
    expect(raised).toContain('zero-or-nan-gradients');
    expect(raised).toContain('not-broken-at-large-epsilon');
  }, 60_000);

  it('probes ε = 0.5 with PGD when the curve stops short of it, and flags a masked model there', async () => {
    const plainFlag = (await evaluateRobustness({ ...options, epsilons: [0.1], attacks: ['fgsm'], galleryPerEpsilon: 0 })).flags.find(
      (f) => f.flag === 'not-broken-at-large-epsilon',
    )!;
    expect(plainFlag.raised).toBe(false);
    expect(plainFlag.detail).toMatch(/^PGD probe at ε = 0.5 on 80 examples: robust accuracy 0\.000/);
    const plain = asLogitsModel(model);
    const masked = (x: tf.Tensor) => plain(tf.step(tf.sub(x, 0.5)));
    const maskedFlag = (await evaluateRobustness({ ...options, model: masked, epsilons: [0.1], attacks: ['fgsm'], galleryPerEpsilon: 0 })).flags.find(
      (f) => f.flag === 'not-broken-at-large-epsilon',
    )!;
    expect(maskedFlag.raised).toBe(true);
  }, 60_000);

  it('is deterministic for a seed', async () => {
    const again = await evaluateRobustness({ ...options, epsilons: [0.1], attacks: ['pgd', 'square'], galleryPerEpsilon: 0 });
    const first = await evaluateRobustness({ ...options, epsilons: [0.1], attacks: ['pgd', 'square'], galleryPerEpsilon: 0 });
    expect(again.points[0].outcomes.map((o) => o.robustCorrect)).toEqual(first.points[0].outcomes.map((o) => o.robustCorrect));
  }, 60_000);

  it('stops between batches when asked', async () => {
    let calls = 0;
    const stopped = await evaluateRobustness({ ...options, attacks: ['fgsm'], shouldStop: () => ++calls > 2 });
    expect(stopped.stopped).toBe(true);
  });
});
