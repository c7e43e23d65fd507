import type * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import type { Checkpoint, Run, RunRepository } from '@bulwark/database';
import { CHECKPOINT_FORMAT, LAYERS_MODEL_FORMAT, LayersModelJson, decodeLayersModel, encodeLayersModel } from '@bulwark/queue';
import { IMPORTED_MODEL, MODEL_RUN_KINDS, ModelRunSpec } from '@bulwark/spec';
import { Dataset } from '@bulwark/data';
import {
  ImportedLayersModel,
  LayersModelFiles,
  createModel,
  fromLayersModelFiles,
  importLayersModel,
  restoreLayersWeights,
  restoreModelWeights,
  saveLayersModel,
} from '@bulwark/models';

/** What building a run's model reads from Postgres: the RunRepository in the worker, a fake in unit tests. */
export type ModelStore = Pick<RunRepository, 'find' | 'checkpointAt' | 'checkpointData'>;

export type StoredCheckpoint = Pick<Checkpoint, 'id' | 'runId' | 'format'> & { data: Buffer };

/** The dataset a model is built for: its examples' [H, W, C] and its classes. */
export type ModelDataset = Pick<Dataset, 'shape' | 'classNames'>;

/**
 * The architecture of a run's model: a zoo model initialised from `seed`, or the topology of
 * its imported model (with the imported weights). Training, evaluation and the distillation
 * teacher all build models here, so a checkpoint always meets the topology that wrote it.
 */
export async function buildRunModel(store: ModelStore, run: Pick<Run, 'id' | 'spec'>, dataset: ModelDataset, seed: number): Promise<tf.LayersModel> {
  const spec = modelSpecOf(run);
  if (spec.model !== IMPORTED_MODEL) {
    return createModel({ name: spec.model, inputShape: dataset.shape, numClasses: dataset.classNames.length, seed });
  }
  // An import's own checkpoint holds its topology; every run trained from it names that checkpoint.
  const stored =
    spec.kind === 'import' ? await store.checkpointAt(run.id, 0) : spec.importedModel && (await store.checkpointData(spec.importedModel.checkpointId));
  if (!stored) throw new UnrecoverableError(`the imported model run ${run.id} was built from is no longer stored`);
  if (stored.format !== LAYERS_MODEL_FORMAT) {
    throw new UnrecoverableError(`checkpoint ${stored.id} holds ${stored.format}, not an imported model: its import has not succeeded`);
  }
  return (await importStoredModel(stored, dataset, `import run ${stored.runId}`)).model;
}

/** Loads a checkpoint's model weights into `model`, in whichever format the checkpoint stores them. */
export async function restoreCheckpointWeights(checkpoint: StoredCheckpoint, model: tf.LayersModel): Promise<void> {
  switch (checkpoint.format) {
    case CHECKPOINT_FORMAT:
      restoreModelWeights(checkpoint.data, model);
      return;
    case LAYERS_MODEL_FORMAT:
      await restoreLayersWeights(storedModelFiles(checkpoint), model);
      return;
    default:
      throw new UnrecoverableError(`checkpoint ${checkpoint.id} has format "${checkpoint.format}": no model weights to restore`);
  }
}

/** The model a stored checkpoint holds: built as the run that wrote it builds its model, with the checkpoint's weights. */
export async function loadCheckpointModel(store: ModelStore, checkpoint: StoredCheckpoint, dataset: ModelDataset): Promise<tf.LayersModel> {
  const owner = await store.find(checkpoint.runId);
  if (!owner) throw new UnrecoverableError(`the run of checkpoint ${checkpoint.id} no longer exists`);
  const model = await buildRunModel(store, owner, dataset, 0);
  try {
    await restoreCheckpointWeights(checkpoint, model);
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * A stored Layers model (an upload or an accepted import) loaded and checked against the
 * dataset, its softmax taken off. A model that cannot be loaded or does not fit fails for
 * good: no retry changes stored bytes. `source` names it in the error.
 */
export async function importStoredModel(checkpoint: StoredCheckpoint, dataset: ModelDataset, source: string): Promise<ImportedLayersModel> {
  try {
    const artifacts = await fromLayersModelFiles(storedModelFiles(checkpoint));
    return await importLayersModel({ artifacts, source, expectedInputShape: dataset.shape, numClasses: dataset.classNames.length });
  } catch (err) {
    throw new UnrecoverableError((err as Error).message);
  }
}

/** A model's topology and current weights in the stored Layers format. */
export async function encodeStoredModel(model: tf.LayersModel): Promise<Buffer> {
  const { modelJson, weights } = await saveLayersModel(model);
  // tfjs's ModelJSON is the same JSON object; its weight dtypes are a narrower string union.
  return encodeLayersModel(modelJson as unknown as LayersModelJson, weights);
}

function storedModelFiles(checkpoint: StoredCheckpoint): LayersModelFiles {
  const { modelJson, weights } = decodeLayersModel(checkpoint.data);
  // Checked by decodeLayersModel (a Layers topology, a manifest whose sizes match the weights).
  return { modelJson: modelJson as unknown as tf.io.ModelJSON, weights };
}

function modelSpecOf(run: Pick<Run, 'id' | 'spec'>): ModelRunSpec {
  if (!(MODEL_RUN_KINDS as readonly string[]).includes(run.spec.kind)) {
    throw new UnrecoverableError(`run ${run.id} (${run.spec.kind}) holds no model`);
  }
  return run.spec as ModelRunSpec;
}
