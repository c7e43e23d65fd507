import * as tf from '@tensorflow/tfjs';
import { takeExamples } from '@bulwark/data';
import { gradientHealth } from '@bulwark/attacks';
import type { RobustnessEvaluation } from './robustness-evaluation';
import { adaptiveView, createDefense, maskGradients, naiveView } from '@bulwark/defenses';
import { evaluateDefense, type DefenseEvaluation } from './evaluate-defense';
import { firstExamples, trainTinyMlp, type TrainedMlp } from './trained-mlp.fixture';

const quickParams = {
  pgd: { steps: 10, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
  apgd: { steps: 10, restarts: 1 },
  apgdTargeted: { steps: 10, targetClasses: 2 },
  square: { queries: 20, pInit: 0.8 },
};

const flag = (evaluation: RobustnessEvaluation, name: string) => evaluation.flags.filter((f) => f.flag === name).some((f) => f.raised);
const suiteAccuracy = (evaluation: RobustnessEvaluation, epsilon: number) => {
  const suite = evaluation.points.find((p) => p.epsilon === epsilon)!.outcomes.find((o) => o.attack === 'suite')!;
  return suite.robustCorrect / suite.n;
};

describe('gradient masking, shown for what it is', () => {
  let trained: TrainedMlp;
  let result: DefenseEvaluation;

  beforeAll(async () => {
    trained = await trainTinyMlp();
    // Eight input levels: a step of 1/7, well inside ε = 0.3, so there is nothing real to hide behind.
    const defended = maskGradients({ model: trained.model, spec: { kind: 'quantise-inputs', levels: 8 } });
    result = await evaluateDefense({
      defended,
      dataset: takeExamples(
        trained.test,
        Uint32Array.from({ length: 40 }, (_, i) => i),
        'digits/test[0:40]',
      ),
      epsilons: [0.3],
      norm: 'linf',
      attacks: ['fgsm', 'pgd', 'apgd-ce'],
      params: quickParams,
      seed: 5,
      galleryPerEpsilon: 0,
      batchSize: 40,
    });
  }, 60_000);

  afterAll(() => trained?.model.dispose());

  it('is described as masking, to be evaluated adaptively with BPDA', () => {
    expect(result.description).toMatchObject({ masksGradients: true, needsAdaptiveEvaluation: true, adaptive: { bpda: ['quantise-inputs'], eot: [] } });
    expect(result.adaptiveAttack).toMatchObject({ sameAsNaive: false, eotSettings: null });
  });

  it('the naive evaluation raises the zero-gradient and not-broken-at-large-ε flags and looks robust', () => {
    expect(flag(result.naive, 'zero-or-nan-gradients')).toBe(true);
    expect(flag(result.naive, 'not-broken-at-large-epsilon')).toBe(true);
    expect(suiteAccuracy(result.naive, 0.3)).toBeGreaterThan(0.5);
  });

  it('BPDA breaks it: no flags, and robust accuracy near zero at the same ε', () => {
    expect(flag(result.adaptive, 'zero-or-nan-gradients')).toBe(false);
    expect(flag(result.adaptive, 'not-broken-at-large-epsilon')).toBe(false);
    expect(suiteAccuracy(result.adaptive, 0.3)).toBeLessThan(0.05);
    // Same inputs, same decisions when clean: only the attack changed.
    const clean = (e: RobustnessEvaluation) => e.points[0].outcomes[0].cleanCorrect;
    expect(clean(result.adaptive)).toBe(clean(result.naive));
  });

  it('saturated logits zero the cross-entropy gradient; attacking the logits before the squash restores it', async () => {
    const defended = maskGradients({ model: trained.model, spec: { kind: 'saturate-logits', temperature: 1e-4 } });
    const { x, y } = firstExamples(trained.test, 32);
    const naive = await gradientHealth({ model: naiveView(defended), inputs: x, labels: y });
    const adaptive = await gradientHealth({ model: adaptiveView(defended), inputs: x, labels: y });
    expect(naive.zero.filter(Boolean).length).toBeGreaterThan(24);
    expect(adaptive.raised).toBe(false);
    const [deployed, attacked] = [tf.argMax(defended.model(x), 1), tf.argMax(adaptiveView(defended)(x), 1)];
    expect(Array.from(attacked.dataSync())).toEqual(Array.from(deployed.dataSync()));
    expect(defended.description).toMatchObject({
      masksGradients: true,
      logits: { kind: 'saturate-logits', temperature: 1e-4 },
      adaptive: { logitsBeforeSquash: 'saturate-logits' },
    });
    tf.dispose([x, y, deployed, attacked]);
  });

  it("reads a distilled model's logits divided by its temperature in the adaptive view, and answers softmax(logits) when deployed", () => {
    const defended = createDefense({ model: trained.model, spec: { preprocessing: [], logits: { kind: 'softmax-output', temperature: 20 } } });
    const { x, y } = firstExamples(trained.test, 8);
    const [logits, adaptive, deployed] = [defended.classifier(x), adaptiveView(defended)(x), defended.model(x)];
    expect(tf.max(tf.abs(tf.sub(tf.mul(adaptive, 20), logits))).dataSync()[0]).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(deployed, tf.softmax(logits)))).dataSync()[0]).toBeLessThan(1e-6);
    expect(defended.description.logits).toEqual({ kind: 'softmax-output', temperature: 20 });
    expect(() => createDefense({ model: trained.model, spec: { preprocessing: [], logits: { kind: 'softmax-output', temperature: 0.5 } } })).toThrow(
      /temperature must be >= 1/,
    );
    tf.dispose([x, y, logits, adaptive, deployed]);
  });
});
