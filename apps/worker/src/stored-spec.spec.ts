import { UnrecoverableError } from 'bullmq';
import { trainingRunSpecSchema } from '@bulwark/spec';
import { assertJobKind, specCheck, storedSpec } from './stored-spec';

/** A spec as the first API stored it: no method, optimizer or schedule (the worker runs it as it ran then). */
const legacy = {
  kind: 'train',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 1,
  batchSize: 32,
  seed: 1,
  learningRate: 0.001,
  testFraction: 0.2,
} as const;

describe("a run's stored spec as the worker reads it", () => {
  it('parses a spec stored before optional fields existed', () => {
    expect(storedSpec(trainingRunSpecSchema, legacy)).toEqual(legacy);
  });

  it('fails for good, naming every field at fault, on a spec it cannot run', () => {
    const broken = { ...legacy, model: 'vgg-999', epochs: 0 };
    expect(() => storedSpec(trainingRunSpecSchema, broken)).toThrow(UnrecoverableError);
    expect(() => storedSpec(trainingRunSpecSchema, broken)).toThrow(
      'model must be one of the following values: mlp, cnn-small, cnn-wong, cnn-madry, lenet5, resnet-small, imported; epochs must not be less than 1',
    );
  });

  it('runs a run only from the job named after its kind', () => {
    expect(() => assertJobKind('train', legacy)).not.toThrow();
    expect(() => assertJobKind('distillation', legacy)).toThrow(new UnrecoverableError('job distillation cannot run a run of kind "train"'));
    expect(specCheck('train', trainingRunSpecSchema)(legacy)).toEqual(legacy);
    expect(() => specCheck('import', trainingRunSpecSchema)(legacy)).toThrow('job import cannot run a run of kind "train"');
  });
});
