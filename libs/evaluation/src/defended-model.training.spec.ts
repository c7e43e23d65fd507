import * as tf from '@tensorflow/tfjs';
import { accuracy, gradientHealth, pgd, stochasticForwardPass } from '@bulwark/attacks';
import { asLogitsModel } from '@bulwark/models';
import { subsetDataset } from '@bulwark/data';
import {
  adaptiveView,
  bitDepthPreprocessing,
  createDefense,
  defendModel,
  gaussianNoisePreprocessing,
  jpegPreprocessing,
  medianFilterPreprocessing,
  naiveView,
  randomResizePadPreprocessing,
} from '@bulwark/defenses';
import { evaluateDefense } from './evaluate-defense';
import { firstExamples, trainTinyMlp, type TrainedMlp } from './trained-mlp.fixture';

const read = (t: tf.Tensor) => Array.from(t.dataSync());

describe('preprocessing defenses around a trained classifier', () => {
  let trained: TrainedMlp;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;

  beforeAll(async () => {
    trained = await trainTinyMlp();
    ({ x, y } = firstExamples(trained.test, 64));
  }, 60_000);

  afterAll(() => {
    tf.dispose([x, y]);
    trained?.model.dispose();
  });

  it('BPDA through bit-depth squeezing breaks what the naive attack cannot touch', async () => {
    const defended = defendModel({ model: trained.model, preprocessing: [bitDepthPreprocessing({ bits: 3 })] });
    const clean = await accuracy({ model: defended.model, inputs: x, labels: y });
    const robust = async (model: typeof defended.model) => {
      const result = await pgd({ model, inputs: x, labels: y, epsilon: 0.2, steps: 20, seed: 1 });
      // Judged on the deployed model, whichever view crafted the inputs.
      const correct = await accuracy({ model: defended.model, inputs: result.adversarial, labels: y });
      result.adversarial.dispose();
      return correct;
    };
    const naive = await robust(naiveView(defended));
    const adaptive = await robust(adaptiveView(defended));
    expect(clean).toBeGreaterThan(0.8);
    // Rounding zeroes the gradient: only the random start moves the naive attack.
    expect(naive).toBeGreaterThan(0.5);
    expect(adaptive).toBeLessThan(0.15);
    expect(naive - adaptive).toBeGreaterThan(0.5);
  });

  it('naive views of the gradient-free steps have zero gradients, adaptive views do not', async () => {
    const few = tf.slice(x, [0, 0, 0, 0], [8, -1, -1, -1]);
    const labels = tf.slice(y, [0], [8]);
    for (const step of [bitDepthPreprocessing({ bits: 2 }), jpegPreprocessing({ quality: 50 }), medianFilterPreprocessing({ size: 2 })]) {
      const defended = defendModel({ model: trained.model, preprocessing: [step] });
      const naive = await gradientHealth({ model: naiveView(defended), inputs: few, labels });
      const adaptive = await gradientHealth({ model: adaptiveView(defended), inputs: few, labels });
      if (step.spec.kind !== 'median-filter') expect(naive.zero.every(Boolean)).toBe(true);
      expect(adaptive.raised).toBe(false);
      // BPDA changes only the backward pass: the adaptive view predicts exactly as deployed.
      const [deployedLogits, adaptiveLogits] = [defended.model(few), adaptiveView(defended)(few)];
      expect(read(adaptiveLogits)).toEqual(read(deployedLogits));
      tf.dispose([deployedLogits, adaptiveLogits]);
    }
    tf.dispose([few, labels]);
  });

  it('random noise makes two forward passes differ (flag raised) and EOT averages the draws', async () => {
    const defended = defendModel({ model: trained.model, preprocessing: [gaussianNoisePreprocessing({ sigma: 0.3, seed: 3 })] });
    expect((await stochasticForwardPass({ model: naiveView(defended), inputs: x })).raised).toBe(true);
    expect((await stochasticForwardPass({ model: asLogitsModel(trained.model), inputs: x })).raised).toBe(false);
    // Spread between two passes: one draw each vs the mean of 16 draws each (~1/4 as large).
    const spread = (model: (t: tf.Tensor) => tf.Tensor2D) => tf.tidy(() => tf.mean(tf.abs(tf.sub(model(x), model(x)))).dataSync()[0]);
    const single = spread(naiveView(defended));
    const averaged = spread(adaptiveView(defended, { samples: 16, seed: 1 }));
    expect(averaged).toBeLessThan(single / 2);
    // The same EOT settings replay the same draws.
    const [a, b] = [adaptiveView(defended, { samples: 4, seed: 9 })(x), adaptiveView(defended, { samples: 4, seed: 9 })(x)];
    expect(read(a)).toEqual(read(b));
    tf.dispose([a, b]);
  });

  it('random resize-and-pad is random when deployed, differentiable through EOT, and keeps most decisions', async () => {
    const defended = defendModel({ model: trained.model, preprocessing: [randomResizePadPreprocessing({ minSize: 24, maxSize: 28, seed: 1 })] });
    expect((await stochasticForwardPass({ model: naiveView(defended), inputs: x })).raised).toBe(true);
    const health = await gradientHealth({ model: adaptiveView(defended, { samples: 4 }), inputs: x, labels: y });
    expect(health.raised).toBe(false);
    expect(await accuracy({ model: adaptiveView(defended, { samples: 8 }), inputs: x, labels: y })).toBeGreaterThan(0.5);
  });

  it('describes each defense for storage, and rebuilds it from its spec', () => {
    const spec = {
      preprocessing: [
        { kind: 'bit-depth' as const, bits: 4 },
        { kind: 'jpeg' as const, quality: 60 },
        { kind: 'gaussian-noise' as const, sigma: 0.1, seed: 2 },
      ],
    };
    const defended = createDefense({ model: trained.model, spec });
    expect(defended.description).toEqual({
      ...spec,
      needsAdaptiveEvaluation: true,
      masksGradients: false,
      randomised: true,
      adaptive: { bpda: ['bit-depth', 'jpeg'], eot: ['gaussian-noise'], logitsBeforeSquash: null },
      costs: [expect.stringMatching(/^jpeg: .*outside tfjs kernels/)],
    });
    expect(JSON.parse(JSON.stringify(defended.description))).toEqual(defended.description);
    const plain = createDefense({ model: trained.model, spec: { preprocessing: [] } });
    expect(plain.description.needsAdaptiveEvaluation).toBe(false);
    expect(adaptiveView(plain)).toBe(plain.classifier);
  });

  it('evaluates a defense that hides nothing once, and says so', async () => {
    const plain = createDefense({ model: trained.model, spec: { preprocessing: [{ kind: 'median-filter', size: 1 }] } });
    const params = {
      pgd: { steps: 5, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
      apgd: { steps: 5, restarts: 1 },
      apgdTargeted: { steps: 5, targetClasses: 2 },
      square: { queries: 10, pInit: 0.8 },
    };
    const undefended = createDefense({ model: trained.model, spec: { preprocessing: [] } });
    const result = await evaluateDefense({
      defended: undefended,
      dataset: subsetDataset(trained.test, 10),
      epsilons: [0.1, 0.5],
      norm: 'linf',
      attacks: ['fgsm'],
      params,
      seed: 1,
      galleryPerEpsilon: 0,
    });
    expect(result.adaptive).toBe(result.naive);
    expect(result.adaptiveAttack).toMatchObject({ sameAsNaive: true, bpda: [], eot: [], eotSettings: null });
    // A median filter is attacked through BPDA even though tfjs differentiates it.
    expect(plain.description.adaptive.bpda).toEqual(['median-filter']);
  });
});
