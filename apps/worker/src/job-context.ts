import { UnrecoverableError } from 'bullmq';
import type { WorkerConfig } from '@bulwark/config';
import type { EvaluationResultRepository, RunRepository } from '@bulwark/database';
import type { DatasetName } from '@bulwark/spec';
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
  reportProgress: (fraction: number) => Promise<void>;
  log: (line: string) => void;
}

/**
 * Loads a run's dataset with the split its spec fixes. Missing or broken files cannot be fixed
 * by a retry: they fail the run at once, naming the file.
 */
export function loadRunDataset(dataset: DatasetName, split: { testFraction: number; seed: number }, dirs: WorkerConfig['datasetDirs']): LoadedDataset {
  if (dataset === 'cifar10' && !dirs.cifar10) {
    throw new UnrecoverableError('dataset cifar10 needs CIFAR10_DIR on the worker (the directory of data_batch_1.bin … test_batch.bin)');
  }
  const directory = dataset === 'fashion-mnist' ? dirs.fashionMnist : dataset === 'cifar10' ? dirs.cifar10 : undefined;
  try {
    return loadDataset(dataset, { directory, ...split });
  } catch (err) {
    throw new UnrecoverableError(`cannot load dataset ${dataset}: ${(err as Error).message}`);
  }
}
