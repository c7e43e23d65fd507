import type * as tf from '@tensorflow/tfjs';
import { ModelDataset, ModelStore, StoredCheckpoint, loadCheckpointModel } from '../models/run-model';

/**
 * The model an evaluation measures, rebuilt from its checkpoint as the run that wrote it builds
 * its model (a zoo model or an imported topology). One function for the evaluate and the
 * predict jobs: a prediction must be made by exactly the evaluated model.
 */
export function restoreEvaluatedModel(store: ModelStore, checkpoint: StoredCheckpoint, dataset: ModelDataset): Promise<tf.LayersModel> {
  return loadCheckpointModel(store, checkpoint, dataset);
}
