import type { DatasetRecord } from '@bulwark/database';
import { uploadedDatasetRef } from '@bulwark/spec';
import type { DatasetPageResponse, DatasetResponse } from './dataset.response';

export function toDatasetResponse(dataset: DatasetRecord): DatasetResponse {
  return {
    id: dataset.id,
    ref: uploadedDatasetRef(dataset.id),
    name: dataset.name,
    format: dataset.format,
    shape: [...dataset.shape],
    classNames: dataset.classNames,
    trainCount: dataset.trainCount,
    testCount: dataset.testCount,
    testSplit: { ...dataset.testSplit },
    sizeBytes: dataset.sizeBytes,
    sha256: dataset.sha256,
    createdAt: dataset.createdAt,
  };
}

export function toDatasetPageResponse(page: { items: DatasetRecord[]; total: number; limit: number; offset: number }): DatasetPageResponse {
  return { items: page.items.map(toDatasetResponse), total: page.total, limit: page.limit, offset: page.offset };
}
