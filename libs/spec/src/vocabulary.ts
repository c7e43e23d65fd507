import { z } from 'zod';
import { fieldMessage } from './issue-messages';

/**
 * The names every app and lib shares, declared once: run kinds (which are also the BullMQ job
 * names), statuses, queues, datasets, models and compute backends.
 */

export const TRAINING_RUN_KINDS = ['train', 'adversarial-training', 'distillation'] as const;
export const trainingRunKindSchema = z.enum(TRAINING_RUN_KINDS);
export type TrainingRunKind = z.infer<typeof trainingRunKindSchema>;

export const RUN_KINDS = [...TRAINING_RUN_KINDS, 'evaluation', 'import'] as const;
export const runKindSchema = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof runKindSchema>;

/** Runs whose checkpoints hold a model: what can be fine-tuned, distilled from or evaluated. */
export const MODEL_RUN_KINDS = [...TRAINING_RUN_KINDS, 'import'] as const;
export type ModelRunKind = (typeof MODEL_RUN_KINDS)[number];

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** BullMQ queues (a run's job is named after its kind); here rather than in the job contract so that config can check WORKER_QUEUES. */
export const TRAINING_QUEUE = 'training';
export const EVALUATION_QUEUE = 'evaluation';
/** Shards of data-parallel training steps: any worker crafts and differentiates one, for whichever run's trainer asked. */
export const GRADIENT_QUEUE = 'gradients';
export const QUEUE_NAMES = [TRAINING_QUEUE, EVALUATION_QUEUE, GRADIENT_QUEUE] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * Runs whose spec says `requiresGpu` go to the GPU queue of their kind's queue, which only workers
 * whose backend computes on a GPU consume (besides the plain queues WORKER_QUEUES lists).
 */
export const TRAINING_GPU_QUEUE = 'training-gpu';
export const EVALUATION_GPU_QUEUE = 'evaluation-gpu';
/** The gradient shards of a data-parallel run that requires a GPU. */
export const GRADIENT_GPU_QUEUE = 'gradients-gpu';
export const GPU_QUEUES = {
  [TRAINING_QUEUE]: TRAINING_GPU_QUEUE,
  [EVALUATION_QUEUE]: EVALUATION_GPU_QUEUE,
  [GRADIENT_QUEUE]: GRADIENT_GPU_QUEUE,
} as const satisfies Record<QueueName, string>;
export type GpuQueueName = (typeof GPU_QUEUES)[QueueName];
/** Every queue a run's job can be on. */
export type RunQueueName = QueueName | GpuQueueName;
/** The plain queues, then their GPU twins. */
export const RUN_QUEUE_NAMES: readonly RunQueueName[] = [...QUEUE_NAMES, ...QUEUE_NAMES.map((name) => GPU_QUEUES[name])];

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export const datasetNameSchema = z.enum(DATASET_NAMES);
export type DatasetName = z.infer<typeof datasetNameSchema>;

/**
 * A dataset a user uploaded (POST /datasets), named in a spec's `dataset` field as
 * `upload:<its id>`. One string field for both kinds keeps one schema: stored specs, SQL views
 * and reports read `dataset` as text either way, and the prefix cannot collide with a name.
 */
export const UPLOADED_DATASET_PREFIX = 'upload:';
export type UploadedDatasetRef = `upload:${string}`;
export const uploadedDatasetRefSchema = z.templateLiteral([UPLOADED_DATASET_PREFIX, z.uuid()]);
/** What a spec's `dataset` holds: a built-in dataset's name, or `upload:<id>`. */
export const datasetRefSchema = z.union(
  [datasetNameSchema, uploadedDatasetRefSchema],
  fieldMessage(`must be one of ${DATASET_NAMES.join(', ')}, or upload:<id> of a dataset uploaded with POST /datasets`),
);
export type DatasetRef = DatasetName | UploadedDatasetRef;

/** The id of an uploaded dataset's reference, or null for a built-in name. */
export function uploadedDatasetId(ref: DatasetRef): string | null {
  return ref.startsWith(UPLOADED_DATASET_PREFIX) ? ref.slice(UPLOADED_DATASET_PREFIX.length) : null;
}

export function uploadedDatasetRef(id: string): UploadedDatasetRef {
  return `${UPLOADED_DATASET_PREFIX}${id}`;
}

/** [H, W, C] of one example: what a flattened input of the dataset holds (the loaders produce exactly this). */
export const DATASET_INPUT_SHAPES: Readonly<Record<DatasetName, readonly [number, number, number]>> = {
  mnist: [28, 28, 1],
  'fashion-mnist': [28, 28, 1],
  cifar10: [32, 32, 3],
};

export const MODEL_NAMES = ['mlp', 'cnn-small', 'cnn-wong', 'cnn-madry', 'lenet5', 'resnet-small'] as const;
export const modelNameSchema = z.enum(MODEL_NAMES);
export type ModelName = z.infer<typeof modelNameSchema>;

/**
 * Smallest height and width each zoo network accepts: below it a valid convolution or a pooling
 * step would leave nothing. resnet-small's bound is a choice, not a necessity: its last stage
 * should still see at least 2×2. Here, not in the zoo, so the API refuses a dataset a model
 * cannot take at submit time without loading TensorFlow.js.
 */
export const MIN_INPUT_SIZE: Readonly<Record<ModelName, number>> = {
  mlp: 1,
  'cnn-small': 10,
  'cnn-wong': 1,
  'cnn-madry': 4,
  lenet5: 12,
  'resnet-small': 8,
};

/** Why a zoo model cannot take inputs of this [H, W, C], or null when it can (every zoo model takes any channel count). */
export function modelInputProblem(model: ModelName, [height, width, channels]: readonly [number, number, number]): string | null {
  const min = MIN_INPUT_SIZE[model];
  if (height < min || width < min) return `model ${model} needs inputs of at least ${min}×${min}×C, got ${height}×${width}×${channels}`;
  return null;
}

/** The architecture of an imported model (POST /models/import), not a zoo name: its topology is stored with the import. */
export const IMPORTED_MODEL = 'imported';
/** A run's architecture: a zoo model, or an imported one (then the spec says which, in `importedModel`). */
export const runModelNameSchema = z.enum([...MODEL_NAMES, IMPORTED_MODEL]);
export type RunModelName = z.infer<typeof runModelNameSchema>;

/**
 * TensorFlow.js backends in the order the worker tries them (BULWARK_BACKEND forces one). `webgpu`
 * is Dawn from the npm `webgpu` package, chosen on its own only on a hardware adapter.
 */
export const BACKEND_NAMES = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
