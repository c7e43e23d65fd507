import * as tf from '@tensorflow/tfjs';
import { gzipSync } from 'node:zlib';
import { encodeIdx, encodeNpy, loadFashionMnist, makeBatch, subsetDataset, type Dataset } from '../../libs/data/src';
import { saveLayersModel } from '../../libs/models/src';
import { selectBackend } from '../../libs/tfjs-runtime/src';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt } from '../support/processes';

jest.setTimeout(300_000);

interface Metric {
  key: string;
  step: number;
  value: number;
}

const EXAMPLES = 2000;
/** The centre 16×16 of a 28×28 image. */
const CROP = { side: 16, from: 6 };

/**
 * A user's own data through real processes: the first 2,000 Fashion-MNIST images uploaded as
 * IDX (as the files ship), and a 16×16 RGB set made from them uploaded as .npy; each trained on,
 * evaluated, and the first used by an imported model fine-tuned adversarially.
 */
describe('uploaded datasets end to end (API + worker processes)', () => {
  let cluster: TestCluster;
  let fashion: Dataset;
  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const waitForEnd = (id: string, timeoutMs: number) => cluster.runEnded(id, timeoutMs, 300);
  const metricAt = async (id: string, key: string, step: number): Promise<number | undefined> =>
    ((await call('GET', `/runs/${id}/metrics`)).body.items as Metric[]).find((m) => m.key === key && m.step === step)?.value;
  /** A multipart upload, as curl -F sends one. */
  const upload = async (parts: Record<string, Uint8Array>, fields: Record<string, string>) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    for (const [name, bytes] of Object.entries(parts)) form.append(name, new Blob([bytes]), `${name}.bin`);
    const res = await fetch(`${cluster.base}/datasets`, { method: 'POST', headers: cluster.auth, body: form });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, as TestCluster.call's body is
    return { status: res.status, body: (await res.json()) as any };
  };
  const evaluate = async (runId: string) => {
    const evaluation = await call('POST', '/evaluations', {
      runId,
      epsilons: [0.1],
      suite: 'quick',
      examples: 40,
      seed: 1,
      galleryPerEpsilon: 1,
      params: { pgd: { steps: 5 } },
    });
    expect(evaluation.status).toBe(201);
    const ended = await waitForEnd(evaluation.body.id, 90_000);
    expect(ended.error).toBeNull();
    const view = (await call('GET', `/evaluations/${evaluation.body.id}`)).body;
    expect(view.run.status).toBe('succeeded');
    expect(view.curve).toEqual([expect.objectContaining({ epsilon: 0.1, n: 40 })]);
    return view;
  };

  beforeAll(async () => {
    assertBuilt();
    fashion = subsetDataset(loadFashionMnist().train, EXAMPLES);
    cluster = await startTestCluster('e2e-datasets');
    await selectBackend({ forced: 'wasm', log: () => undefined });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-8000)}`);
    }
  });

  let fashionRef: string;

  it('uploads 2,000 Fashion-MNIST images as gzipped IDX, trains an MLP on them by id and evaluates it', async () => {
    const uploaded = await upload(
      {
        'train-images': gzipSync(encodeIdx({ dims: [EXAMPLES, 28, 28], data: fashion.images })),
        'train-labels': gzipSync(encodeIdx({ dims: [EXAMPLES], data: fashion.labels })),
      },
      { name: 'my-clothes', classNames: JSON.stringify(fashion.classNames), testFraction: '0.2', seed: '3' },
    );
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ shape: [28, 28, 1], trainCount: 1600, testCount: 400, classNames: fashion.classNames });
    fashionRef = uploaded.body.ref;

    const submitted = await call('POST', '/runs', { kind: 'train', dataset: fashionRef, model: 'mlp', epochs: 2, batchSize: 64, seed: 1 });
    expect(submitted.status).toBe(201);
    const trained = await waitForEnd(submitted.body.id, 120_000);
    expect(trained.error).toBeNull();
    expect(trained.status).toBe('succeeded');
    expect(await metricAt(trained.id, 'test_examples', 2)).toBe(400);
    // Ten classes: chance is 0.1; an MLP on 1,600 of these images is far above it.
    const clean = (await metricAt(trained.id, 'test_clean_accuracy', 2))!;
    expect(clean).toBeGreaterThan(0.6);

    const view = await evaluate(trained.id);
    expect(view.run.spec.dataset).toBe(fashionRef);
    console.log(`uploaded Fashion-MNIST (1,600 train / 400 test): MLP clean ${clean}; evaluation curve ${JSON.stringify(view.curve[0])}`);
  });

  it('trains and evaluates a 16×16 RGB dataset uploaded as .npy floats through cnn-small, and refuses lenet5 on 8×8', async () => {
    const count = 1000;
    const { side, from } = CROP;
    // Grey crops tinted per class, so colour carries signal too: channel c = pixel · (1 + (label + c) mod 3) / 3.
    const rgb = new Float32Array(count * side * side * 3);
    for (let n = 0; n < count; n++) {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const grey = fashion.images[n * 784 + (y + from) * 28 + (x + from)] / 255;
          for (let c = 0; c < 3; c++) rgb[((n * side + y) * side + x) * 3 + c] = (grey * (1 + ((fashion.labels[n] + c) % 3))) / 3;
        }
      }
    }
    const uploaded = await upload(
      { 'train-images': encodeNpy([count, side, side, 3], rgb), 'train-labels': encodeNpy([count], fashion.labels.subarray(0, count)) },
      { name: 'tinted-crops', testFraction: '0.2', seed: '1' },
    );
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ format: 'npy', shape: [16, 16, 3], trainCount: 800, testCount: 200 });

    const submitted = await call('POST', '/runs', { kind: 'train', dataset: uploaded.body.ref, model: 'cnn-small', epochs: 2, batchSize: 50, seed: 1 });
    expect(submitted.status).toBe(201);
    const trained = await waitForEnd(submitted.body.id, 180_000);
    expect(trained.error).toBeNull();
    expect(trained.status).toBe('succeeded');
    const clean = (await metricAt(trained.id, 'test_clean_accuracy', 2))!;
    expect(clean).toBeGreaterThan(0.3);
    await evaluate(trained.id);
    console.log(`16×16×3 upload through cnn-small: clean accuracy ${clean} (n = 200)`);

    const tiny = await upload(
      {
        'train-images': encodeNpy([20, 8, 8], new Uint8Array(20 * 64)),
        'train-labels': encodeNpy(
          [20],
          Uint8Array.from({ length: 20 }, (_, i) => i % 2),
        ),
      },
      { name: 'thumbnails' },
    );
    const refused = await call('POST', '/runs', { kind: 'train', dataset: tiny.body.ref, model: 'lenet5', epochs: 1, batchSize: 4, seed: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toEqual([expect.stringMatching(/^model: model lenet5 needs inputs of at least 12×12×C, got 8×8×1/)]);
  });

  it("imports the user's own pretrained model on their uploaded dataset, fine-tunes it adversarially and evaluates it", async () => {
    const pretrained = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    pretrained.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const { x, y } = makeBatch(
      fashion,
      Uint32Array.from({ length: 1000 }, (_, i) => i),
    );
    const labels = tf.oneHot(y, 10);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- tfjs does not export ModelLoggingVerbosity; 0 is SILENT
    await pretrained.fit(x, labels, { epochs: 5, batchSize: 50, shuffle: false, verbose: 0 });
    tf.dispose([x, y, labels]);
    const { modelJson, weights } = await saveLayersModel(pretrained);
    pretrained.dispose();
    modelJson.weightsManifest[0].paths = ['group1-shard1of1.bin'];

    const imported = await call('POST', '/models/import', {
      dataset: fashionRef,
      name: 'my clothes model',
      modelJson,
      weights: Buffer.from(weights).toString('base64'),
    });
    expect(imported.status).toBe(201);
    const accepted = await waitForEnd(imported.body.id, 60_000);
    expect(accepted.error).toBeNull();
    expect(accepted.status).toBe('succeeded');
    expect(await metricAt(accepted.id, 'test_examples', 0)).toBe(400);
    const fgsmBefore = (await metricAt(accepted.id, 'test_fgsm_accuracy', 0))!;
    const [checkpoint] = (await call('GET', `/runs/${accepted.id}/checkpoints`)).body.items;

    const fineTuning = await call('POST', '/runs', {
      kind: 'adversarial-training',
      dataset: fashionRef,
      model: 'imported',
      attack: { name: 'fgsm', epsilon: 0.1 },
      epochs: 2,
      batchSize: 64,
      seed: 2,
      fromCheckpoint: checkpoint.id,
    });
    expect(fineTuning.status).toBe(201);
    const hardened = await waitForEnd(fineTuning.body.id, 120_000);
    expect(hardened.error).toBeNull();
    expect(hardened.status).toBe('succeeded');
    const fgsmAfter = (await metricAt(hardened.id, 'test_fgsm_accuracy', 2))!;
    expect(fgsmAfter).toBeGreaterThan(fgsmBefore);
    const view = await evaluate(hardened.id);
    console.log(`imported model on the upload: FGSM ε=0.1 ${fgsmBefore} → ${fgsmAfter} after 2 epochs of FGSM training; ${JSON.stringify(view.curve[0])}`);
  });
});
