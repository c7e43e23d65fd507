import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { checkpointDigest, readCheckpointHeader, restoreModelWeights } from './checkpoint';
import { saveLayersModel, type LayersModelFiles } from './layers-model-files';
import { directoryWriter, MODEL_JSON_FILE, WEIGHTS_FILE } from './model-directory';
import { createModel, type ModelSpec } from './model-zoo';

export interface ExportLayersModelOptions {
  model: tf.LayersModel;
  /** Created if missing; an existing model.json and weights.bin in it are replaced. */
  directory: string;
}

export interface ExportedLayersModel {
  directory: string;
  modelJsonPath: string;
  weightsPath: string;
  weightBytes: number;
}

export interface ExportCheckpointOptions {
  /** Bytes from `serializeCheckpoint`. */
  checkpoint: Uint8Array;
  /** The spec the checkpointed model was created from (its seed does not matter). */
  modelSpec: ModelSpec;
  directory: string;
}

export interface ExportedCheckpoint extends ExportedLayersModel {
  epoch: number;
  checkpointSha256: string;
}

/**
 * Writes a standard TensorFlow.js model directory (model.json with modelTopology and
 * weightsManifest, plus weights.bin) that `tf.loadLayersModel` loads in any tfjs app:
 * served over HTTP in a browser, via `file://` in tfjs-node, or with `directoryReader`.
 * All weights are written, batch-norm statistics included; optimizer state is not.
 */
export async function exportLayersModel({ model, directory }: ExportLayersModelOptions): Promise<ExportedLayersModel> {
  const root = resolve(directory);
  const result = await model.save(directoryWriter(root));
  return {
    directory: root,
    modelJsonPath: join(root, MODEL_JSON_FILE),
    weightsPath: join(root, WEIGHTS_FILE),
    weightBytes: result.modelArtifactsInfo.weightDataBytes ?? 0,
  };
}

export interface CheckpointModelFilesOptions {
  /** Bytes from `serializeCheckpoint`. */
  checkpoint: Uint8Array;
  /**
   * The architecture the checkpoint was written from, freshly built (a zoo model or an imported
   * topology); its weights are replaced by the checkpoint's. The caller keeps and disposes it.
   */
  model: tf.LayersModel;
  /** Recorded in model.json's userDefinedMetadata.bulwark (e.g. the run, the spec), besides the epoch and sha256. */
  metadata?: Record<string, unknown>;
}

export interface CheckpointModelFiles extends LayersModelFiles {
  epoch: number;
  checkpointSha256: string;
}

/**
 * A checkpoint's model as Layers model files in memory (model.json whose weightsManifest names
 * WEIGHTS_FILE, and its bytes): what a server hands `tf.loadLayersModel` over HTTP without
 * writing a directory. Optimizer state is left out.
 */
export async function checkpointAsLayersModelFiles({ checkpoint, model, metadata = {} }: CheckpointModelFilesOptions): Promise<CheckpointModelFiles> {
  const header = restoreModelWeights(checkpoint, model);
  const checkpointSha256 = checkpointDigest(checkpoint);
  model.setUserDefinedMetadata({
    bulwark: { ...metadata, epoch: header.epoch, checkpointSha256, checkpointTfjsVersion: header.tfjsVersion },
  });
  const files = await saveLayersModel(model);
  return { ...files, epoch: header.epoch, checkpointSha256 };
}

/**
 * Restores a checkpoint's weights into a fresh `createModel(modelSpec)` and exports that.
 * model.json's userDefinedMetadata.bulwark records the spec, the epoch and the checkpoint's
 * sha256, so an exported model can be traced back to the run that produced it.
 */
export async function exportCheckpointAsLayersModel({ checkpoint, modelSpec, directory }: ExportCheckpointOptions): Promise<ExportedCheckpoint> {
  const header = readCheckpointHeader(checkpoint);
  if (header.modelName !== modelSpec.name) {
    throw new Error(`checkpoint holds a ${header.modelName} model, but the spec to export it with is ${modelSpec.name}`);
  }
  const checkpointSha256 = checkpointDigest(checkpoint);
  const model = createModel(modelSpec);
  try {
    restoreModelWeights(checkpoint, model);
    model.setUserDefinedMetadata({
      bulwark: {
        modelSpec: { ...modelSpec, inputShape: [...modelSpec.inputShape] },
        epoch: header.epoch,
        checkpointSha256,
        checkpointTfjsVersion: header.tfjsVersion,
      },
    });
    const exported = await exportLayersModel({ model, directory });
    return { ...exported, epoch: header.epoch, checkpointSha256 };
  } finally {
    model.dispose();
  }
}
