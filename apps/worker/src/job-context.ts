import { UnrecoverableError } from 'bullmq';
import type { WorkerConfig } from '@bulwark/config';
import type { DatasetRepository, EvaluationResultRepository, RunRepository } from '@bulwark/database';
import { type DatasetName, type DatasetRef, uploadedDatasetId, uploadedDatasetRef } from '@bulwark/spec';
import { LoadedDataset, loadDataset } from '@bulwark/data';
import { BackendInfo } from '@bulwark/tfjs-runtime';

/** What every job runner gets from its sandboxed processor: no Nest, no BullMQ types. */
export interface JobContext {
  runs: RunRepository;
  evaluationResults: EvaluationResultRepository;
  backend: BackendInfo;
  /** 1-based number of this delivery of the job: its failed attempts and its stalls (crashes) before it, plus one. */
  attempt: number;
  /** BullMQ's stalled counter of the job: how often a worker lost it (died, or froze past its lock). */
  stalls: number;
  /** Crashes without progress a run survives (CRASH_BUDGET). */
  crashBudget: number;
  cancelPollMs: number;
  /** Where this worker's queues live: a data-parallel trainer sends its shards there. */
  queue: { redisUrl: string; prefix: string };
  datasetDirs: WorkerConfig['datasetDirs'];
  /** Uploaded datasets (POST /datasets), read from Postgres. */
  uploadedDatasets: Pick<DatasetRepository, 'load'>;
  reportProgress: (fraction: number) => Promise<void>;
  log: (line: string) => void;
}

/** Where a run's dataset comes from: files on the worker's disk, or Postgres for an uploaded one. */
export interface DatasetSources {
  dirs: WorkerConfig['datasetDirs'];
  uploads: Pick<DatasetRepository, 'load'>;
}

/**
 * Uploaded datasets this process has loaded, newest last: they never change once stored (a
 * new upload gets a new id), so the shards and epochs of a run on one read it once. Two are
 * kept, enough for a child that alternates between two runs' jobs.
 */
const uploadedCache = new Map<string, LoadedDataset>();
const UPLOADED_CACHE_SIZE = 2;

/**
 * Loads a run's dataset with the split its spec fixes (an uploaded dataset's split was fixed at
 * upload). Missing or broken files, or a deleted upload, cannot be fixed by a retry: they fail
 * the run at once, naming the file or the dataset.
 */
export async function loadRunDataset(dataset: DatasetRef, split: { testFraction: number; seed: number }, sources: DatasetSources): Promise<LoadedDataset> {
  const uploadId = uploadedDatasetId(dataset);
  if (uploadId !== null) return loadUploadedDataset(uploadId, sources.uploads);
  const dirs = sources.dirs;
  if (dataset === 'cifar10' && !dirs.cifar10) {
    throw new UnrecoverableError('dataset cifar10 needs CIFAR10_DIR on the worker (the directory of data_batch_1.bin … test_batch.bin)');
  }
  const directory = dataset === 'fashion-mnist' ? dirs.fashionMnist : dataset === 'cifar10' ? dirs.cifar10 : undefined;
  try {
    return loadDataset(dataset as DatasetName, { directory, ...split });
  } catch (err) {
    throw new UnrecoverableError(`cannot load dataset ${dataset}: ${(err as Error).message}`);
  }
}

async function loadUploadedDataset(id: string, uploads: DatasetSources['uploads']): Promise<LoadedDataset> {
  const cached = uploadedCache.get(id);
  if (cached) return cached;
  const stored = await uploads.load(id);
  if (!stored) throw new UnrecoverableError(`dataset ${uploadedDatasetRef(id)} no longer exists (it was deleted)`);
  const part = (name: string, images: Uint8Array, labels: Uint8Array, size: number) => ({
    name: `${stored.name}/${name}`,
    images,
    labels,
    shape: [...stored.shape] as [number, number, number],
    classNames: [...stored.classNames],
    size,
  });
  const loaded: LoadedDataset = {
    train: part('train', stored.trainImages, stored.trainLabels, stored.trainCount),
    test: part('test', stored.testImages, stored.testLabels, stored.testCount),
    testSplit: stored.testSplit,
  };
  uploadedCache.set(id, loaded);
  while (uploadedCache.size > UPLOADED_CACHE_SIZE) uploadedCache.delete(uploadedCache.keys().next().value as string);
  return loaded;
}
