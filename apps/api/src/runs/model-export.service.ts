import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type * as Tf from '@tensorflow/tfjs';
import { CheckpointWithData, RunRepository } from '@bulwark/database';
import { CHECKPOINT_FORMAT, LAYERS_MODEL_FORMAT, decodeLayersModel } from '@bulwark/queue';
import { IMPORTED_MODEL, MODEL_RUN_KINDS, ModelRunSpec } from '@bulwark/spec';
import { DatasetsService } from '../datasets/datasets.service';
import type * as Models from '@bulwark/models';
import { tarGz } from './model-archive';
import { RunsService } from './runs.service';

/** A checkpoint's model as a TensorFlow.js Layers model: model.json, its one weight file, and the checkpoint they came from. */
export interface ExportedModel {
  modelJson: Tf.io.ModelJSON;
  weights: Buffer;
  checkpointId: string;
  epoch: number;
  /** Of the stored checkpoint: the same bytes at the same URL always give the same files, so it is their ETag. */
  sha256: string;
}

/**
 * The weight file model.json names, served beside it (the name tfjs's own file writer uses).
 * Declared here, not taken from @bulwark/models, so the API loads tfjs only when it converts.
 */
export const EXPORTED_WEIGHTS_FILE = 'weights.bin';

/** Conversions kept: a browser fetches model.json then weights.bin, and several tabs may load the same model. */
const CACHE_ENTRIES = 8;

/**
 * Turns a stored checkpoint into the files `tf.loadLayersModel` reads. Converting is light (build
 * the architecture, set its weights, serialize them: no kernel runs), so it happens here, on
 * tfjs's plain CPU backend, rather than as a job; tfjs and the model zoo (some 50 MB) are loaded
 * on the first export, so an API that never exports never holds them. The worker's checkpoints hold weights only, so
 * the architecture is rebuilt as the worker builds it: the zoo model for the run's dataset, or
 * the topology of the import the run descends from. An accepted import is stored as a Layers
 * model already and is served as it is.
 */
@Injectable()
export class ModelExportService {
  private readonly cache = new Map<string, Promise<ExportedModel>>();
  private converter: Promise<{ tf: typeof Tf; models: typeof Models }> | undefined;

  constructor(
    private readonly runs: RunsService,
    private readonly repository: RunRepository,
    private readonly datasets: DatasetsService,
  ) {}

  /** The tenant's checkpoint as a Layers model; 404 for another tenant's, 409 for one holding no model yet. */
  async export(tenantId: string, runId: string, checkpointId: string): Promise<ExportedModel> {
    const run = await this.runs.get(tenantId, runId);
    if (!(MODEL_RUN_KINDS as readonly string[]).includes(run.spec.kind)) {
      throw new NotFoundException(`run ${runId} is an evaluation: its checkpoints hold no model`);
    }
    const checkpoint = await this.runs.checkpointData(tenantId, runId, checkpointId);
    // The sha256 as well: an epoch rewritten by a re-delivered job keeps its id, not its bytes.
    const key = `${checkpoint.id}:${checkpoint.sha256}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const conversion = this.convert(tenantId, run.spec as ModelRunSpec, checkpoint);
    this.cache.set(key, conversion);
    // A failed conversion is not kept: the next request tries again (and reports its own error).
    conversion.catch(() => this.cache.delete(key));
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return conversion;
  }

  /** model.json and weights.bin in one .tar.gz, in a directory named after the run and epoch. */
  archive(model: ExportedModel, directory: string): Buffer {
    return tarGz([
      { name: `${directory}/model.json`, data: Buffer.from(JSON.stringify(model.modelJson), 'utf8') },
      { name: `${directory}/${EXPORTED_WEIGHTS_FILE}`, data: model.weights },
    ]);
  }

  private async convert(tenantId: string, spec: ModelRunSpec, checkpoint: CheckpointWithData): Promise<ExportedModel> {
    const meta = { checkpointId: checkpoint.id, epoch: checkpoint.epoch, sha256: checkpoint.sha256 };
    switch (checkpoint.format) {
      case LAYERS_MODEL_FORMAT: {
        const { modelJson, weights } = decodeLayersModel(checkpoint.data);
        return { ...meta, modelJson: asOneWeightFile(modelJson as unknown as Tf.io.ModelJSON), weights };
      }
      case CHECKPOINT_FORMAT: {
        const { tf, models } = await this.loadConverter();
        const model = await this.architecture(tf, models, tenantId, spec, checkpoint);
        try {
          const files = await models.checkpointAsLayersModelFiles({
            checkpoint: checkpoint.data,
            model,
            metadata: { runId: checkpoint.runId, checkpointId: checkpoint.id, model: spec.model, dataset: spec.dataset },
          });
          const weights = Buffer.from(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength);
          return { ...meta, modelJson: asOneWeightFile(files.modelJson), weights };
        } catch (err) {
          throw new ConflictException(`checkpoint ${checkpoint.id} cannot be exported: ${(err as Error).message}`);
        } finally {
          model.dispose();
        }
      }
      default:
        throw new ConflictException(
          `checkpoint ${checkpoint.id} (format ${checkpoint.format}) holds no model yet: it is an upload its import run has not accepted`,
        );
    }
  }

  /** The model the run's checkpoints were written from, with fresh weights. */
  private async architecture(
    tf: typeof Tf,
    models: typeof Models,
    tenantId: string,
    spec: ModelRunSpec,
    checkpoint: CheckpointWithData,
  ): Promise<Tf.LayersModel> {
    if (spec.model === IMPORTED_MODEL) {
      // An import's own checkpoint is a Layers model (served as it is); a run trained from one names it.
      const ref = spec.kind === 'import' ? undefined : spec.importedModel;
      const source = ref && (await this.repository.checkpointData(ref.checkpointId));
      if (!source || source.format !== LAYERS_MODEL_FORMAT) {
        throw new ConflictException(`checkpoint ${checkpoint.id} cannot be exported: the imported model its run was built from is no longer stored`);
      }
      const { modelJson, weights } = decodeLayersModel(source.data);
      const artifacts = await models.fromLayersModelFiles({ modelJson: modelJson as unknown as Tf.io.ModelJSON, weights });
      return tf.loadLayersModel(tf.io.fromMemory(artifacts));
    }
    // Every zoo model ends in a dense layer, whose kernel [fan-in, classes] is the checkpoint's last
    // rank-2 model tensor (batch-norm statistics, rank 1, come after it): its width is the class
    // count. Restoring checks every shape against the rebuilt model, so a wrong guess cannot pass.
    const kernels = models.readCheckpointHeader(checkpoint.data).tensors.filter((entry) => entry.role === 'model' && entry.shape.length === 2);
    const numClasses = kernels[kernels.length - 1]?.shape[1] ?? 0;
    return models.createModel({ name: spec.model, inputShape: [...(await this.datasets.inputShape(tenantId, spec.dataset))], numClasses, seed: 0 });
  }

  /**
   * tfjs on its plain CPU backend, and the model lib: nothing here computes, and the API must not
   * claim a GPU or load native code on behalf of an export.
   */
  private loadConverter(): Promise<{ tf: typeof Tf; models: typeof Models }> {
    this.converter ??= (async () => {
      const [tf, models] = await Promise.all([import('@tensorflow/tfjs'), import('@bulwark/models')]);
      await tf.setBackend('cpu');
      return { tf, models };
    })();
    return this.converter;
  }
}

/**
 * tfjs's http loader fetches each manifest path relative to model.json's URL: the weights, already
 * concatenated in manifest order, are served as one file at one URL beside it.
 */
function asOneWeightFile(modelJson: Tf.io.ModelJSON): Tf.io.ModelJSON {
  return { ...modelJson, weightsManifest: [{ paths: [EXPORTED_WEIGHTS_FILE], weights: modelJson.weightsManifest.flatMap((group) => group.weights) }] };
}
