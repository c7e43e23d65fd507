import type * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import type { Checkpoint, RunRepository } from '@bulwark/database';
import { type Dataset, type LoadedDataset, seededSubset } from '@bulwark/data';
import type { EvaluationRunSpec } from '@bulwark/spec';
import { type DatasetSources, loadRunDataset } from '../job-context';
import { type ModelStore, loadCheckpointModel } from '../models/run-model';

/** What an evaluation's jobs measure: the dataset (train for detectors, test split), its seeded subset, and the checkpoint's model. */
export interface EvaluationData {
  loaded: LoadedDataset;
  /** The evaluation's seeded subset of the test split: the examples its shards index. */
  examples: Dataset;
}

/**
 * The inputs of evaluation jobs, kept between the jobs of one child process: an evaluation's
 * shards all need the same dataset and model, and rebuilding them per shard costs more than a
 * small shard's attacks. Holds one of each (the newest asked for) and disposes a model it
 * replaces; a child process runs one job at a time, so no job still uses it.
 */
export class EvaluationInputs {
  private data?: { key: string; value: EvaluationData };
  private model?: { checkpointId: string; value: Promise<tf.LayersModel> };

  constructor(
    private readonly store: ModelStore & Pick<RunRepository, 'checkpoint'>,
    private readonly datasets: DatasetSources,
  ) {}

  async dataset(spec: Pick<EvaluationRunSpec, 'dataset' | 'testFraction' | 'datasetSeed' | 'examples' | 'seed'>): Promise<EvaluationData> {
    const key = JSON.stringify([spec.dataset, spec.testFraction, spec.datasetSeed, spec.examples, spec.seed]);
    if (this.data?.key !== key) {
      const loaded = await loadRunDataset(spec.dataset, { testFraction: spec.testFraction, seed: spec.datasetSeed }, this.datasets);
      this.data = { key, value: { loaded, examples: seededSubset(loaded.test, { count: spec.examples, seed: spec.seed }) } };
    }
    return this.data.value;
  }

  /** The checkpoint's model; the caller must not dispose it. */
  async checkpointModel(checkpointId: string, dataset: Dataset): Promise<{ model: tf.LayersModel; checkpoint: Pick<Checkpoint, 'id' | 'epoch' | 'sha256'> }> {
    const checkpoint = await this.store.checkpoint(checkpointId);
    if (!checkpoint) throw new UnrecoverableError(`checkpoint ${checkpointId} no longer exists`);
    if (this.model?.checkpointId !== checkpointId) {
      const previous = this.model?.value;
      const value = this.load(checkpointId, dataset);
      this.model = { checkpointId, value };
      // A load that failed is not kept: the next job tries again.
      value.catch(() => {
        if (this.model?.value === value) this.model = undefined;
      });
      if (previous)
        void previous.then(
          (m) => m.dispose(),
          () => undefined,
        );
    }
    return { model: await this.model.value, checkpoint };
  }

  private async load(checkpointId: string, dataset: Dataset): Promise<tf.LayersModel> {
    const stored = await this.store.checkpointData(checkpointId);
    if (!stored) throw new UnrecoverableError(`checkpoint ${checkpointId} no longer exists`);
    return loadCheckpointModel(this.store, stored, dataset);
  }
}
