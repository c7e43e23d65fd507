import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importLayersModel } from './import-layers-model';
import { directoryReader, directoryWriter } from './model-directory';
import { selectBackend } from '@bulwark/tfjs-runtime';

const SHAPE: [number, number, number] = [8, 8, 1];
const CLASSES = 3;

/** A user's model as it might arrive: tfjs's global layer names, its own initialisers. */
function convBody(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: SHAPE,
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(tf.layers.flatten());
  return model;
}

function dense(activation: 'softmax' | 'linear' | 'relu', seed: number) {
  return tf.layers.dense({
    units: CLASSES,
    activation,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }),
  });
}

async function rows(tensor: tf.Tensor): Promise<number[][]> {
  return (await tensor.array()) as number[][];
}

describe('importLayersModel', () => {
  let root: string;
  let x: tf.Tensor4D;
  let counter = 0;

  /** Saves through our writer, as a user's `model.save('file://…')` would. */
  async function save(model: tf.LayersModel): Promise<string> {
    counter += 1;
    const directory = join(root, `model-${counter}`);
    await model.save(directoryWriter(directory));
    return directory;
  }

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    root = await mkdtemp(join(tmpdir(), 'bulwark-import-'));
    x = tf.randomUniform<tf.Rank.R4>([5, ...SHAPE], 0, 1, 'float32', 2);
  });

  afterAll(async () => {
    x.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('exposes the logits of a model whose last Dense applies softmax (softmax of them = the original outputs)', async () => {
    const original = convBody();
    original.add(dense('softmax', 7));
    const directory = await save(original);

    const { model, info } = await importLayersModel({ directory, expectedInputShape: SHAPE, numClasses: CLASSES });

    const lastLayer = original.layers[original.layers.length - 1].name;
    expect(info).toMatchObject({
      logits: 'softmax-activation-removed',
      softmaxLayer: lastLayer,
      outputActivation: 'linear',
      numClasses: CLASSES,
    });
    expect(info.parameterCount).toBe(original.countParams());
    const probabilities = original.predict(x) as tf.Tensor2D;
    const logits = model.predict(x) as tf.Tensor2D;
    const softmaxed = tf.softmax(logits);
    // Logits, not probabilities: rows do not sum to 1.
    expect((await rows(tf.sum(logits, 1).expandDims(1))).some(([s]) => Math.abs(s - 1) > 1e-3)).toBe(true);
    const [p, q] = [await rows(probabilities), await rows(softmaxed)];
    p.forEach((row, i) => row.forEach((value, j) => expect(q[i][j]).toBeCloseTo(value, 6)));
    // log p = logits − logsumexp(logits): equal up to one constant per row.
    const offsets = await rows(tf.sub(tf.log(probabilities), logits));
    for (const row of offsets) {
      expect(Math.max(...row) - Math.min(...row)).toBeLessThan(1e-5);
    }
    tf.dispose([probabilities, logits, softmaxed]);
    [original, model].forEach((m) => m.dispose());
  });

  it('drops a trailing Softmax layer of a functional model', async () => {
    const input = tf.input({ shape: SHAPE });
    const features = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const scores = dense('linear', 11).apply(features) as tf.SymbolicTensor;
    const softmaxLayer = tf.layers.softmax({ name: 'class_probabilities' });
    const original = tf.model({ inputs: input, outputs: softmaxLayer.apply(scores) as tf.SymbolicTensor });
    const directory = await save(original);

    const { model, info } = await importLayersModel({ directory, expectedInputShape: SHAPE, numClasses: CLASSES });

    expect(info).toMatchObject({ logits: 'softmax-layer-removed', softmaxLayer: 'class_probabilities', outputActivation: 'linear' });
    expect(model.layers.map((l) => l.name)).not.toContain('class_probabilities');
    const expectedLogits = tf.model({ inputs: input, outputs: scores }).predict(x) as tf.Tensor;
    const logits = model.predict(x) as tf.Tensor;
    expect(Array.from(logits.dataSync())).toEqual(Array.from(expectedLogits.dataSync()));
    tf.dispose([expectedLogits, logits]);
    [original, model].forEach((m) => m.dispose());
  });

  it("drops a trailing Activation('softmax') layer of a Sequential model", async () => {
    const original = convBody();
    original.add(dense('linear', 13));
    original.add(tf.layers.activation({ activation: 'softmax', name: 'probs' }));
    const directory = await save(original);

    const { model, info } = await importLayersModel({ directory, expectedInputShape: SHAPE, numClasses: CLASSES });

    expect(info).toMatchObject({ logits: 'softmax-layer-removed', softmaxLayer: 'probs' });
    const probabilities = original.predict(x) as tf.Tensor;
    const softmaxed = tf.softmax(model.predict(x) as tf.Tensor);
    const [p, q] = [await rows(probabilities), await rows(softmaxed)];
    p.forEach((row, i) => row.forEach((value, j) => expect(q[i][j]).toBeCloseTo(value, 6)));
    tf.dispose([probabilities, softmaxed]);
    [original, model].forEach((m) => m.dispose());
  });

  it('keeps a model that already outputs logits as it is, and reports a non-linear output activation', async () => {
    const linear = convBody();
    linear.add(dense('linear', 17));
    const relu = convBody();
    relu.add(dense('relu', 19));
    const [linearDir, reluDir] = [await save(linear), await save(relu)];

    const imported = await importLayersModel({ directory: linearDir, expectedInputShape: SHAPE, numClasses: CLASSES });
    const importedRelu = await importLayersModel({ directory: reluDir, expectedInputShape: SHAPE, numClasses: CLASSES });

    expect(imported.info).toMatchObject({ logits: 'as-saved', outputActivation: 'linear' });
    expect(imported.info.softmaxLayer).toBeUndefined();
    expect(importedRelu.info).toMatchObject({ logits: 'as-saved', outputActivation: 'relu' });
    const [a, b] = [linear.predict(x) as tf.Tensor, imported.model.predict(x) as tf.Tensor];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
    [linear, relu, imported.model, importedRelu.model].forEach((m) => m.dispose());
  });

  it('reads converter-style directories: model_config wrapper and weights sharded over several files', async () => {
    const original = convBody();
    original.add(dense('softmax', 23));
    const directory = await save(original);
    const json = JSON.parse(await readFile(join(directory, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const weights = await readFile(join(directory, 'weights.bin'));
    const cut = 100;
    await writeFile(join(directory, 'group1-shard1of2.bin'), weights.subarray(0, cut));
    await writeFile(join(directory, 'group1-shard2of2.bin'), weights.subarray(cut));
    await rm(join(directory, 'weights.bin'));
    json.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: json.modelTopology };
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    json.convertedBy = 'TensorFlow.js Converter v4.22.0';
    await writeFile(join(directory, 'model.json'), JSON.stringify(json));

    const modelJson = join(directory, 'model.json');
    const { model, info } = await importLayersModel({ directory: modelJson, expectedInputShape: SHAPE, numClasses: CLASSES });

    expect(info).toMatchObject({ logits: 'softmax-activation-removed', convertedBy: 'TensorFlow.js Converter v4.22.0' });
    const probabilities = original.predict(x) as tf.Tensor;
    const softmaxed = tf.softmax(model.predict(x) as tf.Tensor);
    const [p, q] = [await rows(probabilities), await rows(softmaxed)];
    p.forEach((row, i) => row.forEach((value, j) => expect(q[i][j]).toBeCloseTo(value, 6)));
    tf.dispose([probabilities, softmaxed]);
    [original, model].forEach((m) => m.dispose());
  });

  describe('rejects what does not fit, saying why', () => {
    let directory: string;

    beforeAll(async () => {
      const model = convBody();
      model.add(dense('softmax', 29));
      directory = await save(model);
      model.dispose();
    });

    it('an input shape other than the dataset’s, naming both', async () => {
      await expect(importLayersModel({ directory, expectedInputShape: [28, 28, 1], numClasses: CLASSES })).rejects.toThrow(
        `takes inputs of shape [8, 8, 1] but the dataset's examples have shape [28, 28, 1]`,
      );
    });

    it('a flattened input where the dataset has images', async () => {
      const mlp = tf.sequential({ layers: [tf.layers.dense({ inputShape: [64], units: CLASSES })] });
      const mlpDir = await save(mlp);
      mlp.dispose();
      await expect(importLayersModel({ directory: mlpDir, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        `takes inputs of shape [64] but the dataset's examples have shape [8, 8, 1]`,
      );
    });

    it('a class count other than the dataset’s', async () => {
      await expect(importLayersModel({ directory, expectedInputShape: SHAPE, numClasses: 10 })).rejects.toThrow(
        'outputs shape [3] per example but the dataset has 10 classes',
      );
    });

    it('a softmax output whose input cannot be made the output (a shared softmax layer)', async () => {
      const input = tf.input({ shape: SHAPE });
      const features = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
      const shared = tf.layers.softmax({ name: 'shared_softmax' });
      const first = shared.apply(dense('linear', 31).apply(features)) as tf.SymbolicTensor;
      const mixed = tf.layers.add().apply([first, dense('linear', 37).apply(features) as tf.SymbolicTensor]);
      const model = tf.model({ inputs: input, outputs: shared.apply(mixed) as tf.SymbolicTensor });
      const sharedDir = await save(model);
      model.dispose();
      await expect(importLayersModel({ directory: sharedDir, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        'ends in a softmax whose input could not be made its output',
      );
    });

    it('a missing model.json or weight file, naming the file', async () => {
      await expect(importLayersModel({ directory: join(root, 'nowhere'), expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        `cannot read model.json ${join(root, 'nowhere', 'model.json')}: it does not exist`,
      );
      const copy = await save(await tf.loadLayersModel(directoryReader(directory)));
      await rm(join(copy, 'weights.bin'));
      await expect(importLayersModel({ directory: copy, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        `cannot read weight file listed in ${join(copy, 'model.json')} ${join(copy, 'weights.bin')}: it does not exist`,
      );
    });

    it('truncated weights', async () => {
      const copy = await save(await tf.loadLayersModel(directoryReader(directory)));
      await truncate(join(copy, 'weights.bin'), 40);
      await expect(importLayersModel({ directory: copy, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        // conv 3·3·1·4 + 4, dense 6·6·4·3 + 3: 475 float32 weights.
        `weight files weights.bin in ${copy} hold 40 bytes, but the weightsManifest of ${join(copy, 'model.json')} declares ${475 * 4}`,
      );
    });

    it('a weight path outside the model directory', async () => {
      const copy = await save(await tf.loadLayersModel(directoryReader(directory)));
      const json = JSON.parse(await readFile(join(copy, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      json.weightsManifest[0].paths = ['../model-1/weights.bin'];
      await writeFile(join(copy, 'model.json'), JSON.stringify(json));
      await expect(importLayersModel({ directory: copy, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(
        `lists weight file '../model-1/weights.bin' outside its directory`,
      );
    });

    it('a model.json that is not a Layers model', async () => {
      const path = join(root, 'not-a-model.json');
      await writeFile(path, JSON.stringify({ format: 'graph-model', weightsManifest: [] }));
      await expect(importLayersModel({ directory: path, expectedInputShape: SHAPE, numClasses: CLASSES })).rejects.toThrow(`${path} has no modelTopology`);
    });
  });
});
