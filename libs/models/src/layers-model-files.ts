import * as tf from '@tensorflow/tfjs';

/** The weight file tfjs-node's `file://` handler writes, so either side reads the other's output. */
export const WEIGHTS_FILE = 'weights.bin';

/**
 * A Layers model as its files hold it, in memory: model.json and the bytes of its weight
 * files, concatenated in manifest order (what a model directory or an upload carries).
 */
export interface LayersModelFiles {
  modelJson: tf.io.ModelJSON;
  weights: Uint8Array;
}

/** `model.save()`'s artifacts as model.json (one weights group, in WEIGHTS_FILE) and weight bytes. */
export function toLayersModelFiles(artifacts: tf.io.ModelArtifacts): LayersModelFiles {
  if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
    throw new Error('only Layers models (a JSON topology) can be written as model files');
  }
  const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
    ...(artifacts.signature === undefined ? {} : { signature: artifacts.signature }),
    ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
    ...(artifacts.modelInitializer === undefined ? {} : { modelInitializer: artifacts.modelInitializer }),
  };
  return { modelJson, weights: new Uint8Array(weightData) };
}

/**
 * Model files as the artifacts `tf.loadLayersModel(tf.io.fromMemory(…))` and importLayersModel
 * take. A saved trainingConfig is left out: runs train with their own optimizer and loss, and
 * tfjs would otherwise compile the model with the saved ones (or fail on a Keras-only one).
 */
export async function fromLayersModelFiles({ modelJson, weights }: LayersModelFiles): Promise<tf.io.ModelArtifacts> {
  const { trainingConfig: _trainingConfig, ...json } = modelJson;
  // A copy: tfjs keeps the buffer, and the caller's bytes may be a view into a larger one.
  const weightData = new Uint8Array(weights).buffer;
  return tf.io.getModelArtifactsForJSON(json, (manifest) => Promise.resolve([tf.io.getWeightSpecs(manifest), weightData]));
}

/** A model's topology and current weights as model files (optimizer state is not part of them). */
export async function saveLayersModel(model: tf.LayersModel): Promise<LayersModelFiles> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
    }),
  );
  if (saved === undefined) throw new Error(`saving model ${model.name} produced no artifacts`);
  return toLayersModelFiles(saved);
}

/**
 * Loads the weights of model files into `model`, in manifest order. Throws, changing nothing in
 * the model, if they do not fit it (another topology).
 */
export async function restoreLayersWeights(files: LayersModelFiles, model: tf.LayersModel): Promise<void> {
  const artifacts = await fromLayersModelFiles(files);
  const specs = artifacts.weightSpecs ?? [];
  const weights = model.weights;
  const fits = specs.length === weights.length && specs.every((spec, i) => sameShape(spec.shape, weights[i].shape));
  if (!fits) {
    const have = weights.map((w) => `${w.originalName}[${w.shape.join(',')}]`).join(', ');
    const want = specs.map((s) => `${s.name}[${s.shape}]`).join(', ');
    throw new Error(`stored weights (${want}) do not fit model ${model.name} (${have})`);
  }
  if (artifacts.weightData === undefined) throw new Error('the model files hold no weights');
  const named = tf.io.decodeWeights(artifacts.weightData, specs);
  const tensors = specs.map((spec) => named[spec.name]);
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(Object.values(named));
  }
}

function sameShape(stored: number[], actual: ReadonlyArray<number | null>): boolean {
  return stored.length === actual.length && stored.every((dim, i) => dim === actual[i]);
}
