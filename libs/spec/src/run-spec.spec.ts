import { parseWithMessages } from './issue-messages';
import { DEFAULT_EVALUATION_PARAMS, evaluationRunSpecSchema } from './evaluation-run.schema';
import { importRunSpecSchema } from './import-run.schema';
import { trainingRunSpecSchema } from './training-run.schema';

const uuid = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

/** A training spec as the first API stored it, before methods, optimizers, schedules, the guard and imports. */
const firstTrainingSpec = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: 1,
  learningRate: 0.001,
  testFraction: 0.2,
};

/** An evaluation spec as stored before defenses and detectors existed. */
const firstEvaluationSpec = {
  kind: 'evaluation',
  sourceRunId: uuid(1),
  checkpointId: uuid(2),
  checkpointEpoch: 2,
  dataset: 'mnist',
  model: 'mlp',
  datasetSeed: 1,
  testFraction: 0.2,
  norm: 'linf',
  epsilons: [0, 0.1],
  suite: 'quick',
  attacks: ['fgsm', 'pgd'],
  params: DEFAULT_EVALUATION_PARAMS,
  examples: 1000,
  seed: 0,
  galleryPerEpsilon: 4,
};

describe('stored run specs: what the worker accepts', () => {
  it('parses training specs of every age: before methods and schedules, and with a guard from before maxGap', () => {
    expect(trainingRunSpecSchema.parse(firstTrainingSpec)).toEqual(firstTrainingSpec);
    const withGuard = {
      ...firstTrainingSpec,
      method: { name: 'fgsm-rs', epsilon: 0.1 },
      optimizer: { name: 'adam' },
      schedule: { kind: 'constant' },
      overfittingGuard: { heldOut: 500, maxDrop: 0.2, onCollapse: 'stop' },
    };
    expect(trainingRunSpecSchema.parse(withGuard)).toEqual(withGuard);
  });

  it('parses evaluation specs from before defenses, detectors and shards, and with them', () => {
    // Stored before sharding: the evaluation ran in one job, with the same numbers shards of 256 give.
    expect(evaluationRunSpecSchema.parse(firstEvaluationSpec)).toEqual({ ...firstEvaluationSpec, shardSize: 256 });
    const defended = {
      ...firstEvaluationSpec,
      shardSize: 512,
      defense: { preprocessing: [{ kind: 'random-resize-pad', minSize: 28, maxSize: 31, seed: 0 }], logits: { kind: 'softmax-output', temperature: 20 } },
      detectors: [{ kind: 'mahalanobis', fpr: 0.05, shrinkage: 0.01 }],
      validationExamples: 1000,
      detectorAware: { steps: 50, confidence: 1, detectorWeight: 1 },
    };
    expect(evaluationRunSpecSchema.parse(defended)).toEqual(defended);
  });

  it('parses an import spec', () => {
    const spec = {
      kind: 'import',
      dataset: 'mnist',
      model: 'imported',
      attack: { name: 'fgsm', epsilon: 0.1 },
      seed: 0,
      testFraction: 0.2,
      upload: { sha256: 'a'.repeat(64), sizeBytes: 10, weightBytes: 4 },
    };
    expect(importRunSpecSchema.parse(spec)).toEqual(spec);
  });

  it.each([
    [
      'an unknown model',
      { ...firstTrainingSpec, model: 'vgg-999' },
      'model must be one of the following values: mlp, cnn-small, cnn-wong, cnn-madry, lenet5, resnet-small, imported',
    ],
    [
      'an imported model without its import',
      { ...firstTrainingSpec, model: 'imported' },
      expect.stringMatching(/^importedModel is present exactly when model is "imported"/),
    ],
    [
      'a distillation without its teacher',
      { ...firstTrainingSpec, kind: 'distillation', temperature: 20 },
      'a distillation run needs a temperature and a teacher checkpoint',
    ],
    ['an attack radius of 0', { ...firstTrainingSpec, attack: { name: 'fgsm', epsilon: 0 } }, 'attack.epsilon must be a positive number'],
    [
      'a schedule of an unknown kind',
      { ...firstTrainingSpec, schedule: { kind: 'exponential' } },
      'schedule.kind must be one of the following values: constant, piecewise, cyclic',
    ],
  ])('refuses a training spec with %s, saying why', (_case, spec, message) => {
    expect(parseWithMessages(trainingRunSpecSchema, spec)).toEqual({ ok: false, errors: [message] });
  });

  it('refuses an evaluation spec with detectors but not their settings, or with no attack', () => {
    expect(parseWithMessages(evaluationRunSpecSchema, { ...firstEvaluationSpec, detectors: [{ kind: 'confidence', fpr: 0.05 }] })).toEqual({
      ok: false,
      errors: ['detectors, validationExamples and detectorAware are stored together or not at all'],
    });
    expect(parseWithMessages(evaluationRunSpecSchema, { ...firstEvaluationSpec, attacks: [] })).toEqual({
      ok: false,
      errors: ['attacks must contain at least 1 elements'],
    });
    expect(parseWithMessages(evaluationRunSpecSchema, { ...firstEvaluationSpec, shardSize: 100 })).toEqual({
      ok: false,
      errors: ['shardSize must not be less than 256', 'shardSize must be a multiple of 256'],
    });
  });
});
