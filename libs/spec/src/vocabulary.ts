import { z } from 'zod';

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

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export const datasetNameSchema = z.enum(DATASET_NAMES);
export type DatasetName = z.infer<typeof datasetNameSchema>;

/** [H, W, C] of one example: what a flattened input of the dataset holds (the loaders produce exactly this). */
export const DATASET_INPUT_SHAPES: Readonly<Record<DatasetName, readonly [number, number, number]>> = {
  mnist: [28, 28, 1],
  'fashion-mnist': [28, 28, 1],
  cifar10: [32, 32, 3],
};

export const MODEL_NAMES = ['mlp', 'cnn-small', 'cnn-wong', 'cnn-madry', 'lenet5', 'resnet-small'] as const;
export const modelNameSchema = z.enum(MODEL_NAMES);
export type ModelName = z.infer<typeof modelNameSchema>;

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
