import * as tf from '@tensorflow/tfjs';
import { directoryReader } from './model-directory';
import { isList } from './unverified-json';

const SOFTMAX_LAYER_CLASS = 'Softmax';

/**
 * Where the model comes from: a directory holding model.json and its weight files (or the
 * model.json itself), or artifacts already in memory (an upload), named in messages by `source`.
 */
export type LayersModelSource = { directory: string } | { artifacts: tf.io.ModelArtifacts; source: string };

export type ImportLayersModelOptions = LayersModelSource & {
  /** [H, W, C] of the dataset's examples. */
  expectedInputShape: [number, number, number];
  numClasses: number;
};

/**
 * How the returned model's logits were obtained. Attacks need logits, so a final softmax is
 * taken off: the output layer's own softmax activation becomes linear, or a trailing
 * Softmax / Activation('softmax') layer is dropped. Weights are unchanged either way.
 */
export type LogitsExposure = 'as-saved' | 'softmax-activation-removed' | 'softmax-layer-removed';

export interface ImportedModelInfo {
  logits: LogitsExposure;
  /** The layer whose softmax was removed; absent when `logits` is 'as-saved'. */
  softmaxLayer?: string;
  /**
   * Activation of the output layer as imported ('linear' for true logits). Anything else
   * (sigmoid, relu) is kept but means the outputs are not logits, which an evaluation should
   * report.
   */
  outputActivation: string;
  inputShape: [number, number, number];
  numClasses: number;
  parameterCount: number;
  generatedBy?: string;
  convertedBy?: string | null;
}

export interface ImportedLayersModel {
  model: tf.LayersModel;
  info: ImportedModelInfo;
}

/**
 * Loads a user's TensorFlow.js Layers model (model.json + weights, as `model.save()` or the
 * tfjs converter writes them), checks it against the dataset it will see and exposes its
 * logits. The caller owns (and disposes) the model. Like every model here it must take
 * inputs in [0, 1], any normalisation inside it: no file can show that, so say so to users.
 */
export async function importLayersModel(options: ImportLayersModelOptions): Promise<ImportedLayersModel> {
  const { expectedInputShape, numClasses } = options;
  // Messages name the model by where it came from: its directory, or the source given with artifacts.
  const [artifacts, where] =
    'directory' in options ? [await directoryReader(options.directory).load(), options.directory] : [options.artifacts, options.source];
  const topology = artifacts.modelTopology;
  if (topology === undefined || topology instanceof ArrayBuffer) {
    throw new Error(`${where} holds no Layers model topology (a graph model cannot be imported)`);
  }
  const { topology: exposed, logits, softmaxLayer } = exposeLogits(topology as KerasTopology, where);

  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology: exposed }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot load the Layers model in ${where}: ${message}`);
  }
  try {
    assertFits(model, where, expectedInputShape, numClasses);
    const activation = outputActivation(model.outputs[0].sourceLayer);
    if (activation === 'softmax') {
      // Probabilities would saturate every gradient-based attack: refuse rather than mislead.
      throw new Error(`the model in ${where} ends in a softmax whose input could not be made its output; save it without the softmax`);
    }
    return {
      model,
      info: {
        logits,
        ...(softmaxLayer === undefined ? {} : { softmaxLayer }),
        outputActivation: activation,
        inputShape: [...expectedInputShape],
        numClasses,
        parameterCount: model.countParams(),
        ...(artifacts.generatedBy === undefined ? {} : { generatedBy: artifacts.generatedBy }),
        ...(artifacts.convertedBy === undefined ? {} : { convertedBy: artifacts.convertedBy }),
      },
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function assertFits(model: tf.LayersModel, where: string, expected: [number, number, number], numClasses: number): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`the model in ${where} has ${model.inputs.length} inputs and ${model.outputs.length} outputs; a classifier needs one of each`);
  }
  // Dimension 0 is the batch; a null elsewhere (a fully convolutional model) takes any size.
  const inputShape = model.inputs[0].shape.slice(1);
  const fits = inputShape.length === expected.length && inputShape.every((dim, i) => dim === null || dim === expected[i]);
  if (!fits) {
    throw new Error(
      `the model in ${where} takes inputs of shape [${inputShape.map(String).join(', ')}] ` + `but the dataset's examples have shape [${expected.join(', ')}]`,
    );
  }
  const outputShape = model.outputs[0].shape;
  if (outputShape.length !== 2 || outputShape[1] !== numClasses) {
    throw new Error(
      `the model in ${where} outputs shape [${outputShape.slice(1).map(String).join(', ')}] per example ` + `but the dataset has ${numClasses} classes`,
    );
  }
}

function outputActivation(layer: tf.layers.Layer): string {
  if (layer.getClassName() === SOFTMAX_LAYER_CLASS) {
    return 'softmax';
  }
  const { activation } = layer.getConfig() as { activation?: unknown };
  return typeof activation === 'string' ? activation : 'linear';
}

/** Keras JSON as tfjs and the converter write it (snake_case keys). */
interface KerasLayerJson {
  class_name: string;
  name?: string;
  config: { name?: string; activation?: unknown; [key: string]: unknown };
  inbound_nodes?: unknown[];
}
interface KerasModelJson {
  class_name: string;
  // Absent in a malformed upload: reported as "lists no layers".
  config?: { layers: KerasLayerJson[]; output_layers?: unknown[]; [key: string]: unknown } | KerasLayerJson[];
}
/** A full Keras save (Python, converter) wraps the architecture in model_config. */
type KerasTopology = KerasModelJson & { model_config?: KerasModelJson };

interface Exposed {
  topology: object;
  logits: LogitsExposure;
  softmaxLayer?: string;
}

/** Rewrites the topology so its single output is the pre-softmax tensor. */
function exposeLogits(topology: KerasTopology, where: string): Exposed {
  // A JSON round trip, not structuredClone: under jest that returns arrays of another realm,
  // which fail tfjs's instanceof checks.
  const copy = JSON.parse(JSON.stringify(topology)) as KerasTopology;
  const modelJson = copy.model_config ?? copy;
  const layers = Array.isArray(modelJson.config) ? modelJson.config : modelJson.config?.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new Error(`the model topology in ${where} lists no layers`);
  }
  const functional = !Array.isArray(modelJson.config) && Array.isArray(modelJson.config?.output_layers);
  const outputIndex = functional ? outputLayerIndex(modelJson, layers) : layers.length - 1;
  if (outputIndex < 0) {
    return { topology: copy, logits: 'as-saved' };
  }
  const output = layers[outputIndex];
  const name = output.config.name ?? output.name ?? `layer ${outputIndex}`;

  const isSoftmaxLayer = output.class_name === SOFTMAX_LAYER_CLASS || (output.class_name === 'Activation' && output.config.activation === 'softmax');
  if (isSoftmaxLayer) {
    if (!functional) {
      if (layers.length === 1) {
        return { topology: copy, logits: 'as-saved' };
      }
      layers.pop();
      return { topology: copy, logits: 'softmax-layer-removed', softmaxLayer: name };
    }
    const inbound = singleInbound(output);
    if (inbound === undefined) {
      return { topology: copy, logits: 'as-saved' };
    }
    const config = modelJson.config as { output_layers: unknown[] };
    config.output_layers = [inbound];
    if (!layers.some((layer) => inboundLayerNames(layer).includes(name))) {
      layers.splice(outputIndex, 1);
    }
    return { topology: copy, logits: 'softmax-layer-removed', softmaxLayer: name };
  }
  if (output.config.activation === 'softmax') {
    output.config.activation = 'linear';
    return { topology: copy, logits: 'softmax-activation-removed', softmaxLayer: name };
  }
  return { topology: copy, logits: 'as-saved' };
}

function outputLayerIndex(modelJson: KerasModelJson, layers: KerasLayerJson[]): number {
  const outputs = (modelJson.config as { output_layers: unknown[] }).output_layers;
  // Several outputs: assertFits rejects the model later with a clearer message.
  if (outputs.length !== 1 || !Array.isArray(outputs[0])) {
    return -1;
  }
  const [outputName] = outputs[0] as [string];
  return layers.findIndex((layer) => (layer.name ?? layer.config.name) === outputName);
}

/** Layers whose outputs `layer` takes; inbound_nodes is [node][input] = [layer, node, tensor, kwargs]. */
function inboundLayerNames(layer: KerasLayerJson): string[] {
  const nodes = isList(layer.inbound_nodes) ? layer.inbound_nodes : [];
  return nodes
    .flatMap((node) => (isList(node) ? node.map((input) => (isList(input) ? input[0] : undefined)) : []))
    .filter((source): source is string => typeof source === 'string');
}

/** [inboundLayer, nodeIndex, tensorIndex] of a layer applied once to one tensor. */
function singleInbound(layer: KerasLayerJson): [string, number, number] | undefined {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length !== 1 || !Array.isArray(nodes[0]) || nodes[0].length !== 1) {
    return undefined;
  }
  const [source, nodeIndex, tensorIndex] = nodes[0][0] as [unknown, unknown, unknown];
  return typeof source === 'string' && typeof nodeIndex === 'number' && typeof tensorIndex === 'number' ? [source, nodeIndex, tensorIndex] : undefined;
}
