import { problemsOf, specOf } from './resolution.fixture';
import { resolveRunSpec, type RunLimits } from './resolve-run-spec';
import { createRunRequestSchema, trainingRunSpecSchema, type CreateRunRequest } from './training-run.schema';

const limits: RunLimits = { maxEpochs: 20, maxBatchSize: 512 };
const request = (body: Record<string, unknown>): CreateRunRequest =>
  createRunRequestSchema.parse({
    kind: 'adversarial-training',
    dataset: 'mnist',
    model: 'mlp',
    attack: { name: 'fgsm', epsilon: 0.1 },
    epochs: 2,
    batchSize: 64,
    seed: 1,
    ...body,
  });
const resolved = (body: Record<string, unknown>) => specOf(resolveRunSpec(request(body), limits));
const errors = (body: Record<string, unknown>) => problemsOf(resolveRunSpec(request(body), limits));

describe('resolveRunSpec', () => {
  it('fills in every default, so the stored spec says what runs', () => {
    expect(resolved({})).toEqual({
      kind: 'adversarial-training',
      dataset: 'mnist',
      model: 'mlp',
      attack: { name: 'fgsm', epsilon: 0.1 },
      epochs: 2,
      batchSize: 64,
      seed: 1,
      learningRate: 0.001,
      testFraction: 0.2,
      method: { name: 'fgsm', epsilon: 0.1 },
      optimizer: { name: 'adam' },
      schedule: { kind: 'constant' },
    });
  });

  it('stores requiresGpu only when true, where the stored schema accepts it, and takes nothing but a boolean', () => {
    expect(resolved({ kind: 'train', attack: undefined, requiresGpu: true })).toMatchObject({ requiresGpu: true });
    expect(resolved({ requiresGpu: false })).not.toHaveProperty('requiresGpu');
    expect(resolved({})).not.toHaveProperty('requiresGpu');
    expect(trainingRunSpecSchema.safeParse({ ...resolved({ requiresGpu: true }) }).success).toBe(true);
    expect(trainingRunSpecSchema.safeParse({ ...resolved({}), requiresGpu: false }).success).toBe(false);
    expect(() => request({ requiresGpu: 'yes' })).toThrow(/requiresGpu/);
  });

  it('measures a plain training run with FGSM at 0.1 and gives it no method', () => {
    const spec = resolved({ kind: 'train', attack: undefined });
    expect(spec.attack).toEqual({ name: 'fgsm', epsilon: 0.1 });
    expect(spec).not.toHaveProperty('method');
  });

  it("keeps the keys in one order whatever order the request used, since the spec's hash identifies the request", () => {
    const a = resolved({ method: { steps: 5, name: 'pgd', stepSize: 0.01 } });
    expect(Object.keys(a.method!)).toEqual(['name', 'epsilon', 'stepSize', 'steps']);
    expect(JSON.stringify(resolved({ testFraction: 0.3, learningRate: 0.01 }))).toBe(JSON.stringify(resolved({ learningRate: 0.01, testFraction: 0.3 })));
  });

  it('resolves SGD, schedules and the overfitting guard, which is on by default for fgsm-rs only', () => {
    const spec = resolved({ method: { name: 'fgsm-rs' }, optimizer: { name: 'sgd' }, schedule: { kind: 'cyclic' } });
    expect(spec).toMatchObject({
      method: { name: 'fgsm-rs', epsilon: 0.1 },
      optimizer: { name: 'sgd', momentum: 0.9, nesterov: false },
      schedule: { kind: 'cyclic', minLearningRate: 0, peakAt: 0.5 },
      overfittingGuard: { heldOut: 500, maxDrop: 0.2, onCollapse: 'stop' },
    });
    expect(spec.overfittingGuard).not.toHaveProperty('maxGap');
    expect(resolved({ method: { name: 'pgd' }, overfittingGuard: { maxGap: 0.4 } }).overfittingGuard).toEqual({
      heldOut: 500,
      maxDrop: 0.2,
      maxGap: 0.4,
      onCollapse: 'stop',
    });
    expect(resolved({ method: { name: 'pgd' } })).not.toHaveProperty('overfittingGuard');
    expect(resolved({ schedule: { kind: 'piecewise', milestones: [2, 1], factor: 0.5 }, epochs: 3 }).schedule).toEqual({
      kind: 'piecewise',
      milestones: [1, 2],
      factor: 0.5,
    });
  });

  it('keeps a temperature for train and distillation runs', () => {
    expect(resolved({ kind: 'train', temperature: 20 }).temperature).toBe(20);
    expect(resolved({ kind: 'distillation', attack: undefined, temperature: 20, teacherCheckpoint: '00000000-0000-4000-8000-000000000000' }).temperature).toBe(
      20,
    );
  });

  it('stores the shard count of a data-parallel run, and nothing for a local one', () => {
    expect(resolved({ method: { name: 'pgd' }, dataParallel: { shards: 4 } }).dataParallel).toEqual({ shards: 4 });
    expect(resolved({ kind: 'train', attack: undefined, dataParallel: { shards: 1 } }).dataParallel).toEqual({ shards: 1 });
    expect(resolved({})).not.toHaveProperty('dataParallel');
    expect(() => request({ dataParallel: { shards: 65 } })).toThrow();
  });

  it('produces a spec the stored schema accepts', () => {
    expect(
      trainingRunSpecSchema.safeParse(resolved({ method: { name: 'trades', beta: 6 }, schedule: { kind: 'piecewise', milestones: [1], factor: 0.1 } })).success,
    ).toBe(true);
  });

  it.each([
    ['epochs above MAX_EPOCHS', { epochs: 21 }, 'epochs must not be greater than 20 (MAX_EPOCHS)'],
    ['a batch above MAX_BATCH_SIZE', { batchSize: 513 }, 'batchSize must not be greater than 512 (MAX_BATCH_SIZE)'],
    ['adversarial training without an attack', { attack: undefined }, 'attack is required for adversarial-training'],
    ['an imported model without a checkpoint', { model: 'imported' }, expect.stringMatching(/^model "imported" needs fromCheckpoint/)],
    ['distillation without a teacher', { kind: 'distillation', temperature: 20 }, expect.stringMatching(/^teacherCheckpoint must be a UUID/)],
    [
      'distillation without a temperature',
      { kind: 'distillation', teacherCheckpoint: '00000000-0000-4000-8000-000000000000' },
      'temperature is required for distillation',
    ],
    ['a temperature on adversarial training', { temperature: 20 }, 'temperature applies to train (a distillation teacher) and distillation runs only'],
    [
      'a start checkpoint and a teacher',
      {
        kind: 'distillation',
        temperature: 2,
        teacherCheckpoint: '00000000-0000-4000-8000-000000000000',
        fromCheckpoint: '00000000-0000-4000-8000-000000000001',
      },
      'fromCheckpoint and teacherCheckpoint cannot be combined',
    ],
    ['a method on plain training', { kind: 'train', method: { name: 'pgd' } }, 'method applies to adversarial-training runs only'],
    ['a guard on plain training', { kind: 'train', overfittingGuard: {} }, 'overfittingGuard applies to adversarial-training runs only'],
    ['momentum with Adam', { optimizer: { name: 'adam', momentum: 0.9 } }, 'optimizer.momentum and optimizer.nesterov apply to the sgd optimizer only'],
    [
      'a piecewise schedule without milestones',
      { schedule: { kind: 'piecewise', factor: 0.1 } },
      expect.stringMatching(/^schedule\.milestones must be an array/),
    ],
    [
      'a piecewise schedule without a factor',
      { schedule: { kind: 'piecewise', milestones: [1] } },
      expect.stringMatching(/^schedule\.factor must be a positive number/),
    ],
    ['a milestone at the last epoch', { schedule: { kind: 'piecewise', milestones: [2], factor: 0.1 } }, 'schedule.milestones must be below epochs (2)'],
    ['data-parallel free training', { method: { name: 'free' }, dataParallel: { shards: 2 } }, expect.stringMatching(/^dataParallel cannot split free/)],
    ['more shards than examples per batch', { batchSize: 8, dataParallel: { shards: 9 } }, 'dataParallel.shards must not be greater than batchSize (8)'],
    [
      'a data-parallel teacher',
      { kind: 'train', temperature: 20, dataParallel: { shards: 2 } },
      'dataParallel applies to train and adversarial-training runs without a temperature',
    ],
    [
      'a cyclic floor at the peak',
      { schedule: { kind: 'cyclic', minLearningRate: 0.001 } },
      'schedule.minLearningRate must be below learningRate (the cyclic peak)',
    ],
  ])('refuses %s, naming the field', (_case, body, message) => {
    expect(errors(body)).toEqual([message]);
  });

  it('reports every problem at once', () => {
    expect(errors({ epochs: 21, batchSize: 513, kind: 'train', method: { name: 'pgd' } })).toEqual([
      'epochs must not be greater than 20 (MAX_EPOCHS)',
      'batchSize must not be greater than 512 (MAX_BATCH_SIZE)',
      'method applies to adversarial-training runs only',
    ]);
  });
});
