import type { ApiCall } from '../lib/api-client';
import { describeDatasets, figureFileOf, planDatasets, UploadedDataset } from './report-datasets';
import { parsePlan } from './plan-file';

const ID = '3f2b8c1e-5d4a-4c3b-9a8e-7f6d5c4b3a21';
const photos: UploadedDataset = {
  ref: `upload:${ID}`,
  name: 'my-photos',
  shape: [16, 16, 3],
  classNames: ['cat', 'dog'],
  trainCount: 1600,
  testCount: 400,
  testSplit: { kind: 'seeded', testFraction: 0.2, seed: 3 },
};

/** An API that knows one upload and answers 404 for any other path. */
const api: ApiCall = <T>(method: string, path: string) => {
  if (method === 'GET' && path === `/datasets/${ID}`) return Promise.resolve(photos as T);
  return Promise.reject(new Error(`${method} ${path}: HTTP 404 {"message":"Not Found"}`));
};

describe("the datasets of a user's plan", () => {
  it("are the trainings' datasets in the order of their first use", () => {
    const train = (id: string, dataset: string) => ({ id, dataset, body: { kind: 'train', model: 'mlp', epochs: 1, batchSize: 8, seed: 1 } });
    const plan = parsePlan(
      JSON.stringify({
        trainings: [train('a', `upload:${ID}`), train('b', 'mnist'), train('c', `upload:${ID}`)],
        evaluations: [{ id: 'e', source: 'a', defense: 'none', epsilons: [0.1] }],
      }),
      'plan.json',
    );
    expect(planDatasets(plan)).toEqual([`upload:${ID}`, 'mnist']);
  });

  it('are titled by their name, an upload with its ref, shape, classes, counts and split as the API shows them', async () => {
    expect(await describeDatasets(api, [`upload:${ID}`, 'fashion-mnist'])).toEqual([
      {
        ref: `upload:${ID}`,
        title: 'my-photos',
        details:
          `Uploaded dataset \`upload:${ID}\`: 16×16×3 images, 2 classes, 1,600 training and 400 test examples ` +
          '(test split held out at upload: 20%, seed 3).',
      },
      { ref: 'fashion-mnist', title: 'Fashion-MNIST' },
    ]);
  });

  it('name an upload the API does not show', async () => {
    const other = 'upload:00000000-0000-4000-8000-000000000000';
    await expect(describeDatasets(api, [other])).rejects.toThrow(`dataset ${other} of the plan: GET /datasets/00000000-0000-4000-8000-000000000000: HTTP 404`);
  });

  it('get figure files whose names hold no colon', () => {
    expect(figureFileOf('fashion-mnist')).toBe('robustness-curve-fashion-mnist.svg');
    expect(figureFileOf(`upload:${ID}`)).toBe(`robustness-curve-upload-${ID}.svg`);
  });
});
