import { AdversarialExample, AdversarialExampleWithPixels, RobustnessResult, Run } from '@bulwark/database';
import type { EvaluationView } from '@bulwark/spec';
import { toEvaluationListResponse, toEvaluationResponse } from './evaluation.mapper';

const row = (runId: string, view: EvaluationView, epsilon: number, attack: string, robustCorrect: number): RobustnessResult =>
  Object.assign(new RobustnessResult(), {
    runId,
    view,
    epsilon,
    attack,
    n: 10,
    cleanCorrect: 9,
    robustCorrect,
    seconds: 1,
    details: {},
    recordedAt: new Date(0),
  });

const evaluation = (id: string, result: Record<string, unknown> | null): Run =>
  Object.assign(new Run(), { id, kind: 'evaluation', status: 'succeeded', spec: { kind: 'evaluation' }, result, requestHash: 'h' });

describe('evaluation responses', () => {
  it('turns rows into the naive and adaptive curves, fractions over n, and the gallery into base64', () => {
    const run = evaluation('e1', { flags: [{ flag: 'x', raised: false }], detection: { detectors: [] } });
    const gallery: AdversarialExampleWithPixels = Object.assign(new AdversarialExample(), {
      id: 'x1',
      runId: 'e1',
      view: 'direct' as const,
      epsilon: 0.1,
      exampleIndex: 3,
      attack: 'fgsm',
      label: 7,
      cleanPrediction: 7,
      adversarialPrediction: 2,
      shape: [1, 2, 1],
      clean: Buffer.from([0, 255]),
      adversarial: Buffer.from([10, 245]),
      linfNorm: 0.1,
      l2Norm: 0.12,
    });
    const body = toEvaluationResponse(
      {
        run,
        results: [row('e1', 'naive', 0.1, 'fgsm', 5), row('e1', 'adaptive', 0.1, 'suite', 2), row('e1', 'naive', 0, 'fgsm', 9)],
        gallery: [gallery],
        shards: { done: 2, total: 3 },
      },
      null,
    );
    expect(body.curve).toEqual([
      { epsilon: 0, n: 10, cleanAccuracy: 0.9, robustAccuracy: { fgsm: 0.9 } },
      { epsilon: 0.1, n: 10, cleanAccuracy: 0.9, robustAccuracy: { fgsm: 0.5 } },
    ]);
    expect(body.adaptiveCurve).toEqual([{ epsilon: 0.1, n: 10, cleanAccuracy: 0.9, robustAccuracy: { suite: 0.2 } }]);
    expect(body).toMatchObject({ flags: [{ flag: 'x', raised: false }], detection: { detectors: [] }, shards: { done: 2, total: 3 } });
    expect(body.run).not.toHaveProperty('requestHash');
    expect(Object.keys(body.examples[0]).slice(-4)).toEqual(['linfNorm', 'l2Norm', 'clean', 'adversarial']);
    expect(body.examples[0]).toMatchObject({ clean: 'AP8=', adversarial: 'CvU=' });
  });

  it('gives each listed evaluation its own rows, and no adaptive curve or flags where there are none', () => {
    const list = toEvaluationListResponse(
      [evaluation('e1', null), evaluation('e2', null)],
      [row('e2', 'direct', 0.1, 'fgsm', 4)],
      new Map([['e2', { done: 1, total: 1 }]]),
      new Map(),
    );
    expect(list.items.map((i) => [i.run.id, i.curve.length, i.adaptiveCurve, i.flags, i.shards])).toEqual([
      ['e1', 0, null, null, null],
      ['e2', 1, null, null, { done: 1, total: 1 }],
    ]);
  });
});
