import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { ApiConfig } from '@bulwark/config';
import { assembleUploadedDataset, DatasetUploadError } from '@bulwark/data';
import { DatasetRecord, DatasetRepository, isDeletedDatasetError } from '@bulwark/database';
import {
  DATASET_INPUT_SHAPES,
  DEFAULT_UPLOAD_TEST_FRACTION,
  IMPORTED_MODEL,
  RunSpec,
  datasetUploadFieldsSchema,
  modelInputProblem,
  parseWithMessages,
  uploadedDatasetId,
  type DatasetRef,
} from '@bulwark/spec';
import { API_CONFIG } from '../common/api-config';
import type { DatasetUploadBody } from './dataset-upload';

/** Largest height or width of an uploaded image: beyond it the zoo's networks would not fit a worker's memory at any useful batch size. */
export const MAX_UPLOAD_IMAGE_SIDE = 512;

@Injectable()
export class DatasetsService {
  constructor(
    private readonly datasets: DatasetRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Validates the whole upload before storing anything; one insert stores it, so a refused or failed upload leaves no row. */
  async upload(tenantId: string, { parts, fields }: DatasetUploadBody): Promise<DatasetRecord> {
    const parsed = parseWithMessages(datasetUploadFieldsSchema, fields);
    if (!parsed.ok) throw new BadRequestException(parsed.errors);
    const { name, classNames, testFraction = DEFAULT_UPLOAD_TEST_FRACTION, seed = 0 } = parsed.value;
    if ((parts['test-images'] || parts['test-labels']) && ('testFraction' in fields || 'seed' in fields)) {
      throw new BadRequestException(['testFraction: the upload has its own test parts; testFraction and seed apply only to a seeded split']);
    }
    let assembled;
    try {
      assembled = assembleUploadedDataset(parts, {
        name,
        classNames,
        testFraction,
        seed,
        limits: { maxPartBytes: this.config.datasetUploadLimitBytes, maxSide: MAX_UPLOAD_IMAGE_SIDE },
      });
    } catch (error) {
      if (error instanceof DatasetUploadError) throw new BadRequestException([error.message]);
      throw error;
    }
    const { train, test, testSplit, format } = assembled;
    const hash = createHash('sha256');
    for (const bytes of [train.images, train.labels, test.images, test.labels]) hash.update(bytes);
    return this.datasets.create({
      tenantId,
      name,
      format,
      shape: train.shape,
      classNames: train.classNames,
      trainCount: train.size,
      testCount: test.size,
      testSplit,
      sha256: hash.digest('hex'),
      trainImages: train.images,
      trainLabels: train.labels,
      testImages: test.images,
      testLabels: test.labels,
    });
  }

  list(tenantId: string, page: { limit: number; offset: number }): Promise<{ items: DatasetRecord[]; total: number }> {
    return this.datasets.list(tenantId, page);
  }

  async get(tenantId: string, id: string): Promise<DatasetRecord> {
    const dataset = await this.datasets.findOwned(tenantId, id);
    if (!dataset) throw new NotFoundException(`dataset ${id} does not exist`);
    return dataset;
  }

  /** Refused while a queued or running run (training, import or evaluation) names it: that run would fail for want of its data. */
  async delete(tenantId: string, id: string): Promise<void> {
    const result = await this.datasets.delete(tenantId, id);
    if (result.deleted) return;
    if (result.reason === 'not-found') throw new NotFoundException(`dataset ${id} does not exist`);
    throw new ConflictException(`dataset ${id} is used by unfinished runs (${result.runIds.join(', ')}): cancel them or let them finish, then delete it`);
  }

  /**
   * [H, W, C] of a spec's dataset, checked for the caller: an uploaded dataset must exist and be
   * the tenant's (another tenant's reads as missing). `field` names the request field at fault.
   */
  async inputShape(tenantId: string, ref: DatasetRef, field = 'dataset'): Promise<readonly [number, number, number]> {
    const id = uploadedDatasetId(ref);
    if (id === null) return DATASET_INPUT_SHAPES[ref as keyof typeof DATASET_INPUT_SHAPES];
    const dataset = await this.datasets.findOwned(tenantId, id);
    if (!dataset) throw new BadRequestException([`${field}: dataset ${ref} does not exist (upload it with POST /datasets; GET /datasets lists yours)`]);
    return dataset.shape;
  }

  /** A run's dataset exists for its tenant and its zoo model can take the dataset's images; checked before the run is stored. */
  async assertUsableBy(tenantId: string, spec: RunSpec): Promise<void> {
    const shape = await this.inputShape(tenantId, spec.dataset);
    if (spec.model === IMPORTED_MODEL) return;
    const problem = modelInputProblem(spec.model, shape);
    if (problem) throw new BadRequestException([`model: ${problem} (dataset ${spec.dataset}); choose a model that accepts them`]);
  }

  /** The 400 for a run whose dataset was deleted after the submit checked it (the insert failed its key), or null for any other error. */
  deletedMeanwhile(error: unknown, spec: RunSpec): BadRequestException | null {
    return isDeletedDatasetError(error) ? new BadRequestException([`dataset: dataset ${spec.dataset} was deleted`]) : null;
  }
}
