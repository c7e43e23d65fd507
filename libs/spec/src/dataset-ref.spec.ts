import { createRunRequestSchema } from './training-run.schema';
import { datasetUploadFieldsSchema } from './dataset-upload.schema';
import { parseWithMessages } from './issue-messages';
import { modelInputProblem, uploadedDatasetId } from './vocabulary';

const base = { kind: 'train', model: 'mlp', epochs: 1, batchSize: 8, seed: 1 };
const ID = '0b7c5a8e-1f2d-4c3b-9a8e-7d6c5b4a3f21';

describe('dataset references', () => {
  it('takes a built-in name or upload:<uuid>, and words anything else once, naming dataset', () => {
    for (const dataset of ['mnist', `upload:${ID}`]) expect(parseWithMessages(createRunRequestSchema, { ...base, dataset }).ok).toBe(true);
    for (const dataset of ['imagenet', 'upload:nope', `upload:${ID}x`, 3]) {
      expect(parseWithMessages(createRunRequestSchema, { ...base, dataset })).toEqual({
        ok: false,
        errors: [expect.stringMatching(/^dataset must be one of mnist, fashion-mnist, cifar10, or upload:<id> of a dataset uploaded with POST \/datasets/)],
      });
    }
    expect(uploadedDatasetId(`upload:${ID}`)).toBe(ID);
    expect(uploadedDatasetId('mnist')).toBeNull();
  });

  it('says which zoo models cannot take an image size', () => {
    expect(modelInputProblem('lenet5', [8, 8, 1])).toBe('model lenet5 needs inputs of at least 12×12×C, got 8×8×1');
    expect(modelInputProblem('resnet-small', [16, 16, 3])).toBeNull();
    expect(modelInputProblem('mlp', [1, 1, 1])).toBeNull();
  });

  it('reads the multipart fields of an upload as text', () => {
    expect(parseWithMessages(datasetUploadFieldsSchema, { name: 'x', testFraction: '0.3', seed: '7', classNames: 'a, b' })).toEqual({
      ok: true,
      value: { name: 'x', testFraction: 0.3, seed: 7, classNames: ['a', 'b'] },
    });
    expect(parseWithMessages(datasetUploadFieldsSchema, { name: 'x', classNames: '["a","b","c"]' })).toMatchObject({
      ok: true,
      value: { classNames: ['a', 'b', 'c'] },
    });
    const bad = parseWithMessages(datasetUploadFieldsSchema, { name: 'x', testFraction: 'half', seed: '-1' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors).toEqual([expect.stringMatching(/^testFraction/), expect.stringMatching(/^seed/)]);
  });
});
