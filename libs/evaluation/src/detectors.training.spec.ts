import * as tf from '@tensorflow/tfjs';
import { pgd } from '@bulwark/attacks';
import { asLogitsModel } from '@bulwark/models';
import {
  adaptiveView,
  createDefense,
  detectorAwarePgd,
  fitDefenseStack,
  fitDetector,
  fitStackDetector,
  judgeWithDetector,
  scoreDataset,
  type Detector,
} from '@bulwark/defenses';
import { takeExamples } from '@bulwark/data';
import { evaluateDetection } from './evaluate-detection';
import { firstExamples, trainTinyMlp, type TrainedMlp } from './trained-mlp.fixture';

describe('detectors', () => {
  let trained: TrainedMlp;
  let detectors: Record<'confidence' | 'feature-squeezing' | 'mahalanobis', Detector>;

  beforeAll(async () => {
    trained = await trainTinyMlp();
    const { model, validation, train } = trained;
    detectors = {
      confidence: await fitDetector({ kind: 'confidence', model, validation, fpr: 0.05 }),
      'feature-squeezing': await fitDetector({ kind: 'feature-squeezing', model, validation, fpr: 0.05 }),
      mahalanobis: await fitDetector({ kind: 'mahalanobis', model, validation, statistics: train, fpr: 0.05 }),
    };
  }, 60_000);

  afterAll(() => {
    Object.values(detectors ?? {}).forEach((d) => d.dispose());
    trained?.model.dispose();
  });

  it('each fits with a threshold giving at most 5% false positives on its validation data, and about that on unseen data', async () => {
    for (const [kind, detector] of Object.entries(detectors)) {
      const description = detector.describe();
      expect(description).toMatchObject({ kind, targetFpr: 0.05, validation: { n: 400 } });
      expect(description.validationFpr).toBeLessThanOrEqual(0.05);
      expect(description.validationFpr).toBeGreaterThan(0.03);
      const validationScores = await scoreDataset((x) => detector.score(x), trained.validation, 200);
      expect(validationScores.filter((s) => s > detector.threshold).length / validationScores.length).toBe(description.validationFpr);
      const testScores = await scoreDataset((x) => detector.score(x), trained.test, 200);
      expect(testScores.filter((s) => s > detector.threshold).length / testScores.length).toBeLessThan(0.1);
    }
  });

  it('the Mahalanobis detector rejects what is far from the data: uniform noise images', async () => {
    const noise = tf.randomUniform([20, 28, 28, 1], 0, 1, 'float32', 4);
    expect((await detectors.mahalanobis.reject(noise)).filter(Boolean).length).toBeGreaterThanOrEqual(19);
    noise.dispose();
  });

  it('the detector-aware attack is detected less often than the naive attack on the same examples, and is never weaker', async () => {
    const { x, y } = firstExamples(trained.test, 40);
    const model = asLogitsModel(trained.model);
    // Small enough that plain PGD's misclassifications are often unconfident (so detectable).
    const epsilon = 0.05;
    const rates: Record<string, { naive: number; aware: number }> = {};
    for (const [kind, detector] of Object.entries(detectors)) {
      const naive = await pgd({ model, inputs: x, labels: y, epsilon, steps: 30, seed: 1 });
      const judged = await judgeWithDetector({ deployed: model, detector, inputs: x, labels: y, adversarial: naive.adversarial, epsilon, norm: 'linf' });
      const aware = await detectorAwarePgd({ model, detector, inputs: x, labels: y, epsilon, steps: 30, seed: 1 });
      const detected = (r: typeof aware) => r.misclassified.filter((m, i) => m && r.rejected[i]).length / Math.max(1, r.misclassified.filter(Boolean).length);
      rates[kind] = { naive: detected(judged), aware: detected(aware) };
      // Success means fooled AND let through, re-judged on the deployed model and the exact score.
      aware.success.forEach((s, i) => expect(s).toBe(aware.misclassified[i] && !aware.rejected[i]));
      expect(aware.linfNorms.every((n) => n <= epsilon + 1e-5)).toBe(true);
      expect(aware.success.filter(Boolean).length).toBeGreaterThanOrEqual(judged.success.filter(Boolean).length);
      tf.dispose([judged.adversarial, aware.adversarial]);
    }
    // Plain PGD's inputs are often caught by squeezing and sometimes by low confidence; the
    // adaptive ones are not. Penultimate-layer Mahalanobis catches neither on this small MLP.
    expect(rates['feature-squeezing'].naive).toBeGreaterThan(0.3);
    expect(rates['feature-squeezing'].aware).toBeLessThan(rates['feature-squeezing'].naive / 3);
    expect(rates.confidence.aware).toBeLessThan(rates.confidence.naive);
    expect(rates.mahalanobis.aware).toBeLessThanOrEqual(rates.mahalanobis.naive);
    tf.dispose([x, y]);
  });

  it('a deployed stack answers with a class or "rejected as adversarial"', async () => {
    const stack = await fitDefenseStack({
      model: trained.model,
      spec: { defense: { preprocessing: [{ kind: 'bit-depth', bits: 4 }] }, detector: { kind: 'mahalanobis', fpr: 0.05 } },
      validation: trained.validation,
      statistics: trained.train,
    });
    const { x, y } = firstExamples(trained.test, 20);
    const noise = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 8);
    const answers = await stack.predict(tf.concat([x, noise], 0));
    const labels = Array.from(y.dataSync());
    const clean = answers.slice(0, 20);
    expect(clean.filter((a, i) => !a.rejected && a.label === labels[i]).length).toBeGreaterThanOrEqual(15);
    for (const answer of answers.slice(20)) expect(answer).toEqual({ rejected: true, score: expect.any(Number) });
    expect(stack.description.detector).toMatchObject({ kind: 'mahalanobis', preprocessing: [{ kind: 'bit-depth', bits: 4 }] });
    expect(stack.description.defense.adaptive.bpda).toEqual(['bit-depth']);
    stack.dispose();
    tf.dispose([x, y, noise]);
  });

  it('frees every tensor it makes, through all five preprocessing steps at once', async () => {
    const spec = {
      preprocessing: [
        { kind: 'bit-depth' as const, bits: 3 },
        { kind: 'median-filter' as const, size: 3 },
        { kind: 'jpeg' as const, quality: 70 },
        { kind: 'gaussian-noise' as const, sigma: 0.1, seed: 1 },
        { kind: 'random-resize-pad' as const, minSize: 26, maxSize: 30, seed: 2 },
      ],
    };
    const validation = takeExamples(
      trained.validation,
      Uint32Array.from({ length: 40 }, (_, i) => i),
      'digits/validation[0:40]',
    );
    const { x, y } = firstExamples(trained.test, 4);
    const before = tf.memory().numTensors;
    for (const kind of ['feature-squeezing', 'mahalanobis'] as const) {
      const stack = await fitDefenseStack({ model: trained.model, spec: { defense: spec, detector: { kind } }, validation, statistics: validation });
      await stack.predict(x);
      const attack = await detectorAwarePgd({
        model: adaptiveView(stack.defended, { samples: 2 }),
        deployed: stack.defended.model,
        detector: stack.detector!,
        inputs: x,
        labels: y,
        epsilon: 0.1,
        steps: 2,
      });
      attack.adversarial.dispose();
      stack.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  const quickParams = {
    pgd: { steps: 10, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
    apgd: { steps: 10, restarts: 1 },
    apgdTargeted: { steps: 10, targetClasses: 2 },
    square: { queries: 20, pInit: 0.8 },
  };

  it('evaluates a stack per attack: detection rate at the fixed threshold, ROC AUC, robust accuracy with the detector', async () => {
    const stack = await fitDefenseStack({
      model: trained.model,
      spec: { defense: { preprocessing: [] }, detector: { kind: 'feature-squeezing' } },
      validation: trained.validation,
    });
    const dataset = takeExamples(
      trained.test,
      Uint32Array.from({ length: 24 }, (_, i) => 100 + i),
      'digits/test[100:124]',
    );
    const { evaluations, stopped } = await evaluateDetection({
      defended: stack.defended,
      detectors: [stack.detector!],
      dataset,
      epsilon: 0.15,
      norm: 'linf',
      attacks: ['fgsm', 'pgd'],
      params: quickParams,
      adaptive: { steps: 20 },
      seed: 3,
      batchSize: 12,
    });
    expect(stopped).toBe(false);
    expect(evaluations).toHaveLength(1);
    const [result] = evaluations;
    expect(result.n).toBe(24);
    expect(result.outcomes.map((o) => o.attack)).toEqual(['fgsm', 'pgd', 'detector-aware-pgd']);
    expect(result.cleanAccepted).toBeLessThanOrEqual(result.cleanCorrect);
    for (const o of result.outcomes) {
      expect(o.detected).toBeLessThanOrEqual(o.fooled);
      expect(o.stackRobust).toBeLessThanOrEqual(result.cleanAccepted);
      if (o.fooled > 0) {
        expect(o.detectionRate).toBeCloseTo(o.detected / o.fooled, 12);
        expect(o.rocAuc).toBeGreaterThanOrEqual(0);
      }
    }
    const byName = Object.fromEntries(result.outcomes.map((o) => [o.attack, o]));
    expect(byName.pgd.fooled).toBeGreaterThan(10);
    expect(byName['detector-aware-pgd'].detectionRate!).toBeLessThan(byName.pgd.detectionRate!);
    expect(byName['detector-aware-pgd'].stackRobust).toBeLessThanOrEqual(byName.pgd.stackRobust);
    expect(result.worstCase.stackRobust).toBeLessThanOrEqual(Math.min(...result.outcomes.map((o) => o.stackRobust)));
    expect(result.worstCase.attacks).toEqual(['fgsm', 'pgd', 'detector-aware-pgd']);
    stack.dispose();
  });

  it('evaluates several detectors on one set of crafted inputs with the same results as one at a time, and stops when asked', async () => {
    const defended = createDefense({ model: trained.model, spec: { preprocessing: [{ kind: 'bit-depth', bits: 5 }] } });
    const fit = (kind: 'confidence' | 'mahalanobis') =>
      fitStackDetector({ model: trained.model, defended, spec: { kind }, validation: trained.validation, statistics: trained.train });
    const both = [await fit('confidence'), await fit('mahalanobis')];
    const dataset = takeExamples(
      trained.test,
      Uint32Array.from({ length: 16 }, (_, i) => 200 + i),
      'digits/test[200:216]',
    );
    const common = {
      defended,
      dataset,
      epsilon: 0.1,
      norm: 'linf' as const,
      attacks: ['fgsm', 'pgd'] as const,
      params: quickParams,
      adaptive: { steps: 8 },
      seed: 5,
      batchSize: 8,
    };
    const before = tf.memory().numTensors;
    const together = await evaluateDetection({ ...common, detectors: both });
    expect(tf.memory().numTensors).toBe(before);
    expect(together.evaluations.map((e) => e.detector.kind)).toEqual(['confidence', 'mahalanobis']);
    for (const [k, detector] of both.entries()) {
      const [alone] = (await evaluateDetection({ ...common, detectors: [detector] })).evaluations;
      const strip = (e: typeof alone) => ({ ...e, outcomes: e.outcomes.map(({ details, ...rest }) => ({ ...rest, details: { ...details, seconds: 0 } })) });
      expect(strip(together.evaluations[k])).toEqual(strip(alone));
    }
    // The naive attacks' inputs are the same for both detectors: so is what fooled the classifier.
    const fooled = (e: (typeof together.evaluations)[number], attack: string) => e.outcomes.find((o) => o.attack === attack)!.fooled;
    expect(fooled(together.evaluations[0], 'pgd')).toBe(fooled(together.evaluations[1], 'pgd'));
    expect(fooled(together.evaluations[0], 'pgd')).toBeGreaterThan(0);

    let checks = 0;
    const stoppedEarly = await evaluateDetection({ ...common, detectors: both, shouldStop: () => ++checks > 1 });
    expect(stoppedEarly).toEqual({ evaluations: [], stopped: true });
    expect(checks).toBe(2);
    both.forEach((d) => d.dispose());
  });
});
