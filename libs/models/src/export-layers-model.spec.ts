import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportCheckpointAsLayersModel, exportLayersModel } from './export-layers-model';
import { importLayersModel } from './import-layers-model';
import { directoryReader } from './model-directory';
import { createModel, type ModelSpec } from './model-zoo';
import { checkpointDigest, serializeCheckpoint } from './checkpoint';
import { createRng } from '@bulwark/data';
import { selectBackend } from '@bulwark/tfjs-runtime';

function bytesOf(tensor: tf.Tensor): Buffer {
  const values = tensor.dataSync() as Float32Array;
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Every weight replaced by seeded noise (moving variances kept positive), so an export that
 * dropped or reordered any weight, batch-norm statistics included, changes the predictions.
 */
function scrambleWeights(model: tf.LayersModel, seed: number): void {
  const replacements = model.weights.map((weight, i) =>
    tf.tidy(() => {
      const noise = tf.randomNormal(weight.shape as number[], 0, 0.3, 'float32', seed + i);
      return weight.originalName.endsWith('moving_variance') ? tf.add(tf.abs(noise), 0.5) : noise;
    }),
  );
  model.setWeights(replacements);
  tf.dispose(replacements);
}

describe('exporting TensorFlow.js model directories', () => {
  let root: string;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    root = await mkdtemp(join(tmpdir(), 'bulwark-export-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('exportLayersModel writes model.json + weights.bin that tf.loadLayersModel reads back to identical predictions', async () => {
    const model = createModel({ name: 'resnet-small', inputShape: [8, 8, 3], numClasses: 10, seed: 3 });
    scrambleWeights(model, 40);
    const directory = join(root, 'resnet');

    const exported = await exportLayersModel({ model, directory });

    expect(exported).toEqual({
      directory,
      modelJsonPath: join(directory, 'model.json'),
      weightsPath: join(directory, 'weights.bin'),
      weightBytes: model.countParams() * 4,
    });
    expect((await stat(exported.weightsPath)).size).toBe(model.countParams() * 4);
    const json = JSON.parse(await readFile(exported.modelJsonPath, 'utf8')) as tf.io.ModelJSON;
    expect(json).toMatchObject({ format: 'layers-model', modelTopology: { class_name: expect.any(String) } });
    expect(json.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
    expect(json.weightsManifest[0].weights.map((w) => w.name)).toEqual(model.weights.map((w) => w.originalName));

    const loaded = await tf.loadLayersModel(directoryReader(directory));
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 9);
    const [expected, actual] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);
    expect(loaded.weights.map((w) => w.originalName)).toEqual(model.weights.map((w) => w.originalName));
    const encoded = (m: tf.LayersModel) => m.weights.map((w) => bytesOf(w.read()).toString('base64'));
    expect(encoded(loaded)).toEqual(encoded(model));
    tf.dispose([x, expected, actual]);
    [model, loaded].forEach((m) => m.dispose());
  });

  describe('exportCheckpointAsLayersModel', () => {
    const spec: ModelSpec = { name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 };
    let trained: tf.LayersModel;
    let checkpoint: Buffer;

    beforeAll(async () => {
      trained = createModel(spec);
      scrambleWeights(trained, 100);
      const optimizer = tf.train.adam(1e-3);
      checkpoint = await serializeCheckpoint({ model: trained, optimizer, epoch: 3, rngState: createRng(5).state() });
      optimizer.dispose();
    });

    afterAll(() => trained.dispose());

    it('restores the weights into a fresh model and exports it, with the checkpoint recorded in the metadata', async () => {
      const directory = join(root, 'from-checkpoint');

      // Another seed: the exported weights must be the checkpoint's, not the fresh model's.
      const exported = await exportCheckpointAsLayersModel({ checkpoint, modelSpec: { ...spec, seed: 99 }, directory });

      expect(exported).toMatchObject({ directory, epoch: 3, checkpointSha256: checkpointDigest(checkpoint) });
      const loaded = await tf.loadLayersModel(directoryReader(directory));
      const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 11);
      const [expected, actual] = [trained.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
      expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);
      expect(loaded.getUserDefinedMetadata()).toEqual({
        bulwark: {
          modelSpec: { ...spec, seed: 99 },
          epoch: 3,
          checkpointSha256: checkpointDigest(checkpoint),
          checkpointTfjsVersion: tf.version.tfjs,
        },
      });
      tf.dispose([x, expected, actual]);
      loaded.dispose();

      // The exported directory is also a valid import: logits as saved.
      const imported = await importLayersModel({ directory, expectedInputShape: [28, 28, 1], numClasses: 10 });
      expect(imported.info).toMatchObject({ logits: 'as-saved', outputActivation: 'linear', parameterCount: trained.countParams() });
      imported.model.dispose();
    });

    it('refuses a spec that does not match the checkpointed model', async () => {
      await expect(exportCheckpointAsLayersModel({ checkpoint, modelSpec: { ...spec, name: 'lenet5' }, directory: join(root, 'wrong-name') })).rejects.toThrow(
        'checkpoint holds a cnn-small model, but the spec to export it with is lenet5',
      );
      await expect(
        exportCheckpointAsLayersModel({ checkpoint, modelSpec: { ...spec, inputShape: [32, 32, 3] }, directory: join(root, 'wrong-shape') }),
      ).rejects.toThrow(/checkpoint weights \(conv1\/kernel\[3,3,1,32\].*\) do not fit model cnn-small/);
      await expect(stat(join(root, 'wrong-shape'))).rejects.toThrow(/ENOENT/);
    });
  });
});
