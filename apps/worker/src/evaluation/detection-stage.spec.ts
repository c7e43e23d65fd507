import { UnrecoverableError } from 'bullmq';
import { type Dataset } from '@bulwark/data';
import { createModel } from '@bulwark/models';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { STATISTICS_EXAMPLES, assertFeatureLayers, detectionData } from './detection-stage';

/** A set whose example i is the two-byte image (i mod 256, ⌊i/256⌋): subsets say which examples they hold. */
const indexed = (size: number): Dataset => ({
  name: 'toy/train',
  images: Uint8Array.from({ length: 2 * size }, (_, k) => (k % 2 === 0 ? (k / 2) % 256 : Math.floor((k - 1) / 2 / 256))),
  labels: Uint8Array.from({ length: size }, (_, i) => i % 10),
  shape: [2, 1, 1],
  classNames: Array.from({ length: 10 }, (_, i) => String(i)),
  size,
});
const ids = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => ds.images[2 * i] + 256 * ds.images[2 * i + 1]);

describe('detectionData', () => {
  it('takes validation and statistics from one seeded shuffle of the training split: disjoint, deterministic, the statistics capped', () => {
    const train = indexed(5000);
    const { validation, statistics } = detectionData(train, { validationExamples: 100, seed: 3 });
    expect(validation.size).toBe(100);
    expect(statistics.size).toBe(STATISTICS_EXAMPLES);
    const chosen = new Set(ids(validation));
    expect(ids(statistics).filter((i) => chosen.has(i))).toEqual([]);
    expect(ids(detectionData(train, { validationExamples: 100, seed: 3 }).validation)).toEqual(ids(validation));
    expect(ids(detectionData(train, { validationExamples: 100, seed: 4 }).validation)).not.toEqual(ids(validation));
    expect(validation.name).toBe('toy/train[seed 3, 100]');
    expect(statistics.name).toBe(`toy/train[seed 3, 100:${100 + STATISTICS_EXAMPLES}]`);
  });

  it('gives the statistics whatever is left, and the validation subset itself only when nothing is, saying so', () => {
    expect(detectionData(indexed(300), { validationExamples: 100, seed: 1 }).statistics.size).toBe(200);
    const { validation, statistics } = detectionData(indexed(80), { validationExamples: 100, seed: 1 });
    expect(validation.size).toBe(80);
    expect(ids(statistics)).toEqual(ids(validation));
    expect(statistics.name).toMatch(/the validation subset: nothing else left/);
  });
});

describe('assertFeatureLayers', () => {
  beforeAll(() => selectBackend({ forced: 'cpu', log: () => undefined }));

  it('refuses, as unrecoverable, a Mahalanobis feature layer the model does not have', () => {
    const model = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    try {
      const layer = model.layers[model.layers.length - 2].name;
      expect(() => assertFeatureLayers([{ kind: 'mahalanobis', fpr: 0.05, featureLayer: layer, shrinkage: 0.01 }], model)).not.toThrow();
      const missing = [
        { kind: 'confidence' as const, fpr: 0.05 },
        { kind: 'mahalanobis' as const, fpr: 0.05, featureLayer: 'dense_99', shrinkage: 0.01 },
      ];
      expect(() => assertFeatureLayers(missing, model)).toThrow(UnrecoverableError);
      expect(() => assertFeatureLayers(missing, model)).toThrow(/has no layer "dense_99"/);
    } finally {
      model.dispose();
    }
  });
});
