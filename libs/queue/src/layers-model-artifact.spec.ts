import { LayersModelJson, decodeLayersModel, encodeLayersModel, layersModelJsonProblems, weightsManifestBytes } from './layers-model-artifact';

/** A converter-style model.json: a Keras wrapper, two weight files, one quantized weight. */
const modelJson: LayersModelJson = {
  format: 'layers-model',
  generatedBy: 'keras v2.15.0',
  convertedBy: 'TensorFlow.js Converter v4.22.0',
  modelTopology: { keras_version: '2.15.0', model_config: { class_name: 'Sequential', config: { name: 'net', layers: [] } } },
  weightsManifest: [
    { paths: ['group1-shard1of2.bin'], weights: [{ name: 'dense/kernel', shape: [3, 2], dtype: 'float32' }] },
    {
      paths: ['group1-shard2of2.bin'],
      weights: [
        { name: 'dense/bias', shape: [2], dtype: 'float32' },
        { name: 'steps', shape: [], dtype: 'int32' },
        { name: 'q/kernel', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
      ],
    },
  ],
};
// 6 + 2 float32, 1 int32, 6 uint8.
const WEIGHT_BYTES = 6 * 4 + 2 * 4 + 4 + 6;

const weightBytes = () => Buffer.from(Array.from({ length: WEIGHT_BYTES }, (_, i) => (i * 37) % 256));

describe('stored Layers model', () => {
  it('counts the weight bytes the manifest declares, quantized weights in their stored dtype', () => {
    expect(weightsManifestBytes(modelJson.weightsManifest)).toBe(WEIGHT_BYTES);
    expect(weightsManifestBytes([])).toBe(0);
  });

  it('round-trips model.json and the weights, byte for byte, behind a length-prefixed header', () => {
    const weights = weightBytes();
    const bytes = encodeLayersModel(modelJson, weights);

    const json = Buffer.from(JSON.stringify(modelJson), 'utf8');
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('BWLAYERS');
    expect(bytes.readUInt32LE(8)).toBe(1);
    expect(bytes.readUInt32LE(12)).toBe(json.length);
    expect(bytes.subarray(16, 16 + json.length).equals(json)).toBe(true);
    expect(bytes.subarray(16 + json.length).equals(weights)).toBe(true);
    expect(bytes.length).toBe(16 + json.length + WEIGHT_BYTES);

    const decoded = decodeLayersModel(bytes);
    expect(decoded.modelJson).toEqual(modelJson);
    expect(decoded.weights.equals(weights)).toBe(true);
    // A view at an odd offset of a larger buffer (as a driver may hand bytea over) reads the same.
    const padded = Buffer.concat([Buffer.from([7]), bytes]);
    expect(decodeLayersModel(padded.subarray(1)).weights.equals(weights)).toBe(true);
  });

  it('refuses bytes it did not write, saying what is wrong', () => {
    const bytes = encodeLayersModel(modelJson, weightBytes());
    expect(() => decodeLayersModel(Buffer.from('BWCKPT\r\n and more bytes'))).toThrow('not a stored Layers model (bad magic)');
    const otherVersion = Buffer.from(bytes);
    otherVersion.writeUInt32LE(2, 8);
    expect(() => decodeLayersModel(otherVersion)).toThrow('unsupported stored Layers model version 2');
    expect(() => decodeLayersModel(bytes.subarray(0, 40))).toThrow('truncated stored Layers model');
    expect(() => decodeLayersModel(bytes.subarray(0, bytes.length - 1))).toThrow(
      `stored Layers model holds ${WEIGHT_BYTES - 1} bytes of weights, but its weightsManifest declares ${WEIGHT_BYTES}`,
    );
    const notJson = Buffer.from(bytes);
    notJson.write('}', 16);
    expect(() => decodeLayersModel(notJson)).toThrow('model.json is not JSON');
  });

  describe('layersModelJsonProblems', () => {
    it('finds none in a Layers model.json, whether tfjs or the converter wrote it', () => {
      expect(layersModelJsonProblems(modelJson, 'modelJson')).toEqual([]);
      const tfjsSaved = { modelTopology: { class_name: 'Sequential', config: {} }, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] };
      expect(layersModelJsonProblems(tfjsSaved, 'modelJson')).toEqual([]);
    });

    it.each<[string, unknown, string]>([
      ['not an object', [modelJson], 'modelJson must be a TensorFlow.js model.json object'],
      ['no modelTopology', { ...modelJson, modelTopology: undefined }, 'modelJson.modelTopology is required'],
      ['a topology without class_name', { ...modelJson, modelTopology: { layers: [] } }, 'modelJson.modelTopology has no class_name'],
      ['a graph model', { ...modelJson, format: 'graph-model' }, 'modelJson.format is "graph-model": only Layers models can be imported'],
      ['no weightsManifest', { ...modelJson, weightsManifest: undefined }, 'modelJson.weightsManifest is required'],
      ['a group without paths', { ...modelJson, weightsManifest: [{ weights: [] }] }, 'modelJson.weightsManifest[0] must be { paths: string[]'],
      [
        'a weight path that leaves its directory',
        { ...modelJson, weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] },
        'modelJson.weightsManifest[0].paths[0] must be a file name',
      ],
      [
        'a hidden weight file',
        { ...modelJson, weightsManifest: [{ paths: ['.env'], weights: [] }] },
        'modelJson.weightsManifest[0].paths[0] must be a file name',
      ],
      [
        'a weight without a shape',
        { ...modelJson, weightsManifest: [{ paths: [], weights: [{ name: 'w', dtype: 'float32' }] }] },
        'modelJson.weightsManifest[0].weights[0] (w) needs a shape of non-negative integers',
      ],
      [
        'a negative dimension',
        { ...modelJson, weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [-1], dtype: 'float32' }] }] },
        'modelJson.weightsManifest[0].weights[0] (w) needs a shape',
      ],
      [
        'a string weight, whose size cannot be checked',
        { ...modelJson, weightsManifest: [{ paths: [], weights: [{ name: 'vocab', shape: [3], dtype: 'string' }] }] },
        'modelJson.weightsManifest[0].weights[0] (vocab) has dtype "string", not a numeric weight type',
      ],
      [
        'an inherited property name as dtype',
        { ...modelJson, weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [1], dtype: 'constructor' }] }] },
        'has dtype "constructor"',
      ],
      [
        'a weight without a name',
        { ...modelJson, weightsManifest: [{ paths: [], weights: [{ shape: [1], dtype: 'float32' }] }] },
        'modelJson.weightsManifest[0].weights[0] needs a name and a dtype',
      ],
    ])('names the field of %s', (_case, value, message) => {
      expect(layersModelJsonProblems(value, 'modelJson')).toEqual([expect.stringContaining(message)]);
    });
  });
});
