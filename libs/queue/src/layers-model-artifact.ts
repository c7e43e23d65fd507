/**
 * How an imported TensorFlow.js Layers model is stored: one checkpoint row whose bytes are its
 * model.json and its weights. The API writes the upload (it must not load TensorFlow, so this
 * file is plain bytes and JSON); the worker reads it, and replaces it with the model it accepted.
 *
 * Layout: MAGIC (8 bytes) | version (uint32 LE) | model.json length (uint32 LE) | model.json
 * (UTF-8) | weights: every weight file of the manifest, concatenated in manifest order (the
 * bytes tfjs reads from group1-shard1of1.bin …).
 */
const MAGIC = Buffer.from('BWLAYERS', 'latin1');
const VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 8;

/** `checkpoints.format` of the worker's own checkpoints (see @bulwark/training's checkpoint format). */
export const CHECKPOINT_FORMAT = 'bulwark-ckpt-v1';
/** An uploaded model as it arrived: not yet loaded, checked against its dataset or made to output logits. */
export const LAYERS_UPLOAD_FORMAT = 'tfjs-layers-upload-v1';
/** An imported model as the worker accepted it: its topology outputs logits and fits its dataset. */
export const LAYERS_MODEL_FORMAT = 'tfjs-layers-v1';

/** Bytes per stored element; a quantized weight is stored in its quantization dtype. */
const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

export interface LayersWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface LayersWeightsGroup {
  paths: string[];
  weights: LayersWeightEntry[];
}

/** A model.json as `model.save()` and tensorflowjs_converter write it (the fields read here; the rest is kept). */
export interface LayersModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: LayersWeightsGroup[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  [key: string]: unknown;
}

export interface DecodedLayersModel {
  modelJson: LayersModelJson;
  weights: Buffer;
}

/** A weight file's name as the converter and tfjs write them (group1-shard1of1.bin, weights.bin): no directories. */
const WEIGHT_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/**
 * What is wrong with a would-be model.json, each problem naming its field under `field`; empty
 * when it is a Layers model.json whose weight bytes can be counted.
 */
export function layersModelJsonProblems(value: unknown, field: string): string[] {
  if (!isRecord(value)) return [`${field} must be a TensorFlow.js model.json object (modelTopology and weightsManifest)`];
  const problems: string[] = [];
  if (value.format === 'graph-model') {
    problems.push(`${field}.format is "graph-model": only Layers models can be imported (tensorflowjs_converter --output_format tfjs_layers_model)`);
  }
  const topology = value.modelTopology;
  if (!isRecord(topology)) {
    problems.push(`${field}.modelTopology is required: the Layers model's architecture, as model.json holds it`);
  } else if (typeof topology.class_name !== 'string' && !(isRecord(topology.model_config) && typeof topology.model_config.class_name === 'string')) {
    problems.push(`${field}.modelTopology has no class_name: not a Keras / TensorFlow.js Layers topology`);
  }
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) {
    problems.push(`${field}.weightsManifest is required: a list of { paths, weights: [{ name, shape, dtype }] }`);
    return problems;
  }
  manifest.forEach((group: unknown, g) => {
    const at = `${field}.weightsManifest[${g}]`;
    if (!isRecord(group) || !Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string') || !Array.isArray(group.weights)) {
      problems.push(`${at} must be { paths: string[], weights: [{ name, shape, dtype }] }`);
      return;
    }
    // The weights come inline, so these names are never opened here; they are still held to what
    // a weight file is called, so that an exported or re-read model.json never names another path.
    group.paths.forEach((path: string, p) => {
      if (!WEIGHT_FILE_NAME.test(path)) problems.push(`${at}.paths[${p}] must be a file name (1-128 of A-Z a-z 0-9 _ . -, not starting with .)`);
    });
    group.weights.forEach((weight: unknown, w) => {
      const problem = weightProblem(weight);
      if (problem) problems.push(`${at}.weights[${w}] ${problem}`);
    });
  });
  return problems;
}

/** Bytes the manifest's weights occupy, in the order they are stored. Call on a model.json without problems. */
export function weightsManifestBytes(manifest: readonly LayersWeightsGroup[]): number {
  let total = 0;
  for (const weight of manifest.flatMap((group) => group.weights)) {
    total += weight.shape.reduce((product, dim) => product * dim, 1) * BYTES_PER_ELEMENT[storedDtype(weight)];
  }
  return total;
}

export function encodeLayersModel(modelJson: LayersModelJson, weights: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(modelJson), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(VERSION, MAGIC.length);
  preamble.writeUInt32LE(json.length, MAGIC.length + 4);
  return Buffer.concat([preamble, json, weights]);
}

/** Parses and checks a stored model: a readable error for anything but what encodeLayersModel wrote. */
export function decodeLayersModel(bytes: Uint8Array): DecodedLayersModel {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREAMBLE_BYTES || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a stored Layers model (bad magic)');
  }
  const version = buffer.readUInt32LE(MAGIC.length);
  if (version !== VERSION) throw new Error(`unsupported stored Layers model version ${version} (this build reads ${VERSION})`);
  const jsonEnd = PREAMBLE_BYTES + buffer.readUInt32LE(MAGIC.length + 4);
  if (jsonEnd > buffer.length) throw new Error('truncated stored Layers model: model.json runs past the end');
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(buffer.subarray(PREAMBLE_BYTES, jsonEnd).toString('utf8'));
  } catch {
    throw new Error('corrupt stored Layers model: model.json is not JSON');
  }
  const problems = layersModelJsonProblems(modelJson, 'model.json');
  if (problems.length) throw new Error(`corrupt stored Layers model: ${problems.join('; ')}`);
  const json = modelJson as LayersModelJson;
  const weights = buffer.subarray(jsonEnd);
  const expected = weightsManifestBytes(json.weightsManifest);
  if (weights.length !== expected) {
    throw new Error(`stored Layers model holds ${weights.length} bytes of weights, but its weightsManifest declares ${expected}`);
  }
  return { modelJson: json, weights };
}

function weightProblem(weight: unknown): string | undefined {
  if (!isRecord(weight) || typeof weight.name !== 'string' || typeof weight.dtype !== 'string') return 'needs a name and a dtype';
  if (!Array.isArray(weight.shape) || !weight.shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
    return `(${weight.name}) needs a shape of non-negative integers`;
  }
  const quantization = weight.quantization;
  if (quantization !== undefined && !(isRecord(quantization) && typeof quantization.dtype === 'string')) {
    return `(${weight.name}) has a quantization without a dtype`;
  }
  const dtype = storedDtype(weight as LayersWeightEntry);
  // String tensors have no fixed size, so the upload's byte count could not be checked.
  if (!Object.hasOwn(BYTES_PER_ELEMENT, dtype)) return `(${weight.name}) has dtype "${dtype}", not a numeric weight type`;
  return undefined;
}

function storedDtype(weight: LayersWeightEntry): string {
  return weight.quantization?.dtype ?? weight.dtype;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
