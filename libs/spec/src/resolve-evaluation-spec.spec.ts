import { createEvaluationRequestSchema, evaluationRunSpecSchema } from './evaluation-run.schema';
import { parseWithMessages } from './issue-messages';
import { resolveEvaluationSpec, type EvaluationSource } from './resolve-evaluation-spec';
import { problemsOf, specOf } from './resolution.fixture';
import type { TrainingRunSpec } from './training-run.schema';

const runId = '00000000-0000-4000-8000-000000000001';
const trained: TrainingRunSpec = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: 9,
  learningRate: 0.001,
  testFraction: 0.2,
};
const source = (spec: EvaluationSource['spec'] = trained): EvaluationSource => ({
  spec,
  checkpoint: { id: '00000000-0000-4000-8000-000000000002', runId, epoch: 2 },
});
const resolve = (body: Record<string, unknown>, from = source()) =>
  resolveEvaluationSpec(createEvaluationRequestSchema.parse({ runId, epsilons: [0.1], ...body }), from);
const resolved = (body: Record<string, unknown>, from?: EvaluationSource) => specOf(resolve(body, from));
const errors = (body: Record<string, unknown>) => problemsOf(resolve(body));

describe('resolveEvaluationSpec', () => {
  it('resolves every hyperparameter and copies the model and its test split from the source run', () => {
    expect(resolved({ epsilons: [0.3, 0, 0.1] })).toEqual({
      kind: 'evaluation',
      sourceRunId: runId,
      checkpointId: '00000000-0000-4000-8000-000000000002',
      checkpointEpoch: 2,
      dataset: 'mnist',
      model: 'mlp',
      datasetSeed: 9,
      testFraction: 0.2,
      norm: 'linf',
      epsilons: [0, 0.1, 0.3],
      suite: 'standard',
      attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
      params: {
        pgd: { steps: 20, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' },
        apgd: { steps: 100, restarts: 1 },
        apgdTargeted: { steps: 100, targetClasses: 3 },
        square: { queries: 1000, pInit: 0.8 },
      },
      examples: 1000,
      seed: 0,
      galleryPerEpsilon: 4,
      shardSize: 256,
    });
  });

  it('stores the shard size asked for, and refuses one off the batch grid, naming the field', () => {
    expect(resolved({ shardSize: 768 }).shardSize).toBe(768);
    const parse = (shardSize: unknown) => parseWithMessages(createEvaluationRequestSchema, { runId, epsilons: [0.1], shardSize });
    expect(parse(300)).toEqual({ ok: false, errors: ['shardSize must be a multiple of 256'] });
    expect(parse(0)).toEqual({ ok: false, errors: ['shardSize must not be less than 256'] });
    expect(parse(10496)).toEqual({ ok: false, errors: ['shardSize must not be greater than 10240'] });
  });

  it('stores requiresGpu only when true, and the stored schema accepts it', () => {
    const gpu = resolved({ requiresGpu: true });
    expect(gpu).toMatchObject({ requiresGpu: true });
    expect(evaluationRunSpecSchema.safeParse(gpu).success).toBe(true);
    expect(resolved({ requiresGpu: false })).not.toHaveProperty('requiresGpu');
  });

  it('overrides only the parameters given and drops Square under L2', () => {
    const spec = resolved({ norm: 'l2', epsilons: [0.5, 1.5], params: { pgd: { steps: 50 } } });
    expect(spec.attacks).toEqual(['fgsm', 'pgd', 'apgd-ce', 'apgd-t']);
    expect(spec.params.pgd).toEqual({ steps: 50, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' });
  });

  it('evaluates a distilled model through its softmax and attacks it with the margin loss', () => {
    const spec = resolved({}, source({ ...trained, kind: 'distillation', temperature: 20, teacherCheckpointId: runId }));
    expect(spec.defense).toEqual({ preprocessing: [], logits: { kind: 'softmax-output', temperature: 20 } });
    expect(spec.params.pgd.loss).toBe('margin');
    expect(
      resolved({ params: { pgd: { loss: 'ce' } } }, source({ ...trained, kind: 'distillation', temperature: 1, teacherCheckpointId: runId })).defense,
    ).toEqual({
      preprocessing: [],
      logits: { kind: 'softmax-output' },
    });
  });

  it('stores each preprocessing step with exactly its fields, random ones seeded from the evaluation', () => {
    const spec = resolved({
      seed: 4,
      defense: {
        preprocessing: [
          { kind: 'bit-depth', bits: 3 },
          { kind: 'gaussian-noise', sigma: 0.05 },
          { kind: 'random-resize-pad', maxSize: 31, minSize: 28, seed: 7 },
        ],
      },
    });
    expect(spec.defense).toEqual({
      preprocessing: [
        { kind: 'bit-depth', bits: 3 },
        { kind: 'gaussian-noise', sigma: 0.05, seed: 4 },
        { kind: 'random-resize-pad', minSize: 28, maxSize: 31, seed: 7 },
      ],
    });
    expect(resolved({ defense: { preprocessing: [], logits: { kind: 'saturate-logits', temperature: 0.1 } } }).defense).toEqual({
      preprocessing: [],
      logits: { kind: 'saturate-logits', temperature: 0.1 },
    });
  });

  it("fills in detector defaults, the detector-aware attack's among them, in a fixed key order", () => {
    const spec = resolved({
      detectors: [{ kind: 'confidence' }, { kind: 'feature-squeezing', fpr: 0.1 }, { kind: 'mahalanobis', featureLayer: 'dense_1' }],
      detectorAware: { stepSize: 0.01, steps: 20 },
    });
    expect(spec.detectors).toEqual([
      { kind: 'confidence', fpr: 0.05 },
      {
        kind: 'feature-squeezing',
        fpr: 0.1,
        squeezers: [
          { kind: 'bit-depth', bits: 1 },
          { kind: 'median-filter', size: 2 },
        ],
      },
      { kind: 'mahalanobis', fpr: 0.05, featureLayer: 'dense_1', shrinkage: 0.01 },
    ]);
    expect(spec.validationExamples).toBe(1000);
    expect(JSON.stringify(spec.detectorAware)).toBe(JSON.stringify({ steps: 20, confidence: 1, detectorWeight: 1, stepSize: 0.01 }));
    expect(evaluationRunSpecSchema.safeParse(spec).success).toBe(true);
  });

  it.each([
    ['an L∞ radius above 1', { epsilons: [2] }, 'epsilons: 2 exceeds 1, the largest linf radius in [0,1] input space'],
    ['a custom suite without attacks', { suite: 'custom' }, 'attacks is required when suite is "custom"'],
    ['attacks with a fixed suite', { attacks: ['pgd'] }, 'attacks may only be given with suite "custom" (suite "standard" fixes them)'],
    ['Square under L2', { norm: 'l2', suite: 'custom', attacks: ['square'] }, 'attacks: square is an L∞ attack; it cannot run with norm "l2"'],
    ['a step missing its parameter', { defense: { preprocessing: [{ kind: 'bit-depth' }] } }, 'defense.preprocessing.0: bit-depth needs bits'],
    [
      "a step with another step's parameter",
      { defense: { preprocessing: [{ kind: 'jpeg', quality: 75, bits: 3 }] } },
      'defense.preprocessing.0: jpeg takes no bits',
    ],
    ['a seed on a deterministic step', { defense: { preprocessing: [{ kind: 'jpeg', quality: 75, seed: 3 }] } }, 'defense.preprocessing.0: jpeg takes no seed'],
    [
      'resize bounds the wrong way round',
      { defense: { preprocessing: [{ kind: 'random-resize-pad', minSize: 30, maxSize: 26 }] } },
      'defense.preprocessing.0: minSize must not exceed maxSize',
    ],
    [
      'a saturation without its temperature',
      { defense: { preprocessing: [], logits: { kind: 'saturate-logits' } } },
      expect.stringMatching(/^defense\.logits\.temperature must be a positive number/),
    ],
    [
      'a temperature on the softmax view',
      { defense: { preprocessing: [], logits: { kind: 'softmax-output', temperature: 0.5 } } },
      'defense.logits.temperature applies to saturate-logits only',
    ],
    ['validation examples without detectors', { validationExamples: 100 }, 'validationExamples applies only with detectors'],
    ['detector-aware settings without detectors', { detectorAware: { steps: 10 } }, 'detectorAware applies only with detectors'],
    [
      'the same detector twice',
      { detectors: [{ kind: 'confidence' }, { kind: 'confidence', fpr: 0.1 }] },
      'detectors: each kind at most once (confidence appears twice)',
    ],
    [
      'squeezers on a confidence detector',
      { detectors: [{ kind: 'confidence', squeezers: [{ kind: 'bit-depth', bits: 1 }] }] },
      'detectors.0: confidence takes no squeezers',
    ],
    [
      'a random squeezer',
      { detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'gaussian-noise', sigma: 0.1 }] }] },
      'detectors.0.squeezers.0: gaussian-noise is random; a squeezer must be deterministic',
    ],
    [
      'a squeezer missing its parameter',
      { detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'median-filter', size: 2 }, { kind: 'bit-depth' }] }] },
      'detectors.0.squeezers.1: bit-depth needs bits',
    ],
  ])('refuses %s, naming the field', (_case, body, message) => {
    expect(errors(body)).toEqual([message]);
  });

  it('reports problems of independent parts together', () => {
    expect(errors({ epsilons: [2], suite: 'custom', validationExamples: 100 })).toEqual([
      'epsilons: 2 exceeds 1, the largest linf radius in [0,1] input space',
      'attacks is required when suite is "custom"',
      'validationExamples applies only with detectors',
    ]);
  });
});
