import * as tf from '@tensorflow/tfjs';
import { fromLayersModelFiles, restoreLayersWeights, saveLayersModel } from './layers-model-files';
import { importLayersModel } from './import-layers-model';
import { createModel } from './model-zoo';
import { selectBackend } from '@bulwark/tfjs-runtime';

const SHAPE: [number, number, number] = [6, 6, 1];

/** A user's model: a softmax output, tfjs's own layer names. */
function userModel(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: SHAPE }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const bytesOf = (tensor: tf.Tensor) => Buffer.from((tensor.dataSync() as Float32Array).buffer);

describe('Layers model files in memory', () => {
  let x: tf.Tensor;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    x = tf.randomUniform([4, ...SHAPE], 0, 1, 'float32', 3);
  });

  afterAll(() => x.dispose());

  it('saves a model as model.json + weight bytes that load back to the same predictions', async () => {
    const model = userModel(1);
    const files = await saveLayersModel(model);

    expect(files.modelJson.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
    expect(files.weights.length).toBe(model.countParams() * 4);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(await fromLayersModelFiles(files)));
    const [expected, actual] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);
    tf.dispose([expected, actual]);
    [model, loaded].forEach((m) => m.dispose());
  });

  it('leaves a saved training configuration out: runs train with their own optimizer and loss', async () => {
    const model = userModel(2);
    const files = await saveLayersModel(model);
    // As Keras saves it, with an optimizer tfjs does not know.
    const trainingConfig = { loss: 'categorical_crossentropy', metrics: [], optimizer_config: { class_name: 'AdamW', config: {} } };
    files.modelJson.trainingConfig = trainingConfig;
    const asSaved = { ...(await fromLayersModelFiles(files)), trainingConfig: files.modelJson.trainingConfig };
    await expect(tf.loadLayersModel(tf.io.fromMemory(asSaved))).rejects.toThrow(/AdamW/);

    const artifacts = await fromLayersModelFiles(files);
    expect(artifacts.trainingConfig).toBeUndefined();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.optimizer).toBeUndefined();
    [model, loaded].forEach((m) => m.dispose());
  });

  it('imports files from memory, naming their source in what it refuses', async () => {
    const files = await saveLayersModel(userModel(3));
    const { model, info } = await importLayersModel({
      artifacts: await fromLayersModelFiles(files),
      source: 'the upload',
      expectedInputShape: SHAPE,
      numClasses: 3,
    });
    expect(info).toMatchObject({ logits: 'softmax-activation-removed', outputActivation: 'linear' });
    model.dispose();

    await expect(
      importLayersModel({ artifacts: await fromLayersModelFiles(files), source: 'the upload', expectedInputShape: [28, 28, 1], numClasses: 3 }),
    ).rejects.toThrow("the model in the upload takes inputs of shape [6, 6, 1] but the dataset's examples have shape [28, 28, 1]");
  });

  it('restores the weights of files into a model of the same topology, and refuses another topology unchanged', async () => {
    const trained = userModel(4);
    const files = await saveLayersModel(trained);
    const fresh = userModel(40);
    await restoreLayersWeights(files, fresh);
    const [expected, actual] = [trained.predict(x) as tf.Tensor, fresh.predict(x) as tf.Tensor];
    expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);

    const zoo = createModel({ name: 'mlp', inputShape: SHAPE, numClasses: 3, seed: 1 });
    const before = zoo.getWeights().map(bytesOf);
    await expect(restoreLayersWeights(files, zoo)).rejects.toThrow(/^stored weights \(.*\) do not fit model mlp/);
    expect(zoo.getWeights().map(bytesOf)).toEqual(before);
    tf.dispose([expected, actual]);
    [trained, fresh, zoo].forEach((m) => m.dispose());
  });
});
