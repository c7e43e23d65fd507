/**
 * What a robustness evaluation returns, whole (evaluate-robustness.ts) or shard by shard
 * (evaluate-shard.ts, merged by merge-shards.ts), and the few constants those modules share.
 */
import { LogitsModel, PerturbationNorm, STANDARD_SUITE_STAGES, ValidityFlag } from '@bulwark/attacks';
import { type Dataset } from '@bulwark/data';
import { type EvaluationAttackName, type EvaluationAttackParams } from '@bulwark/spec';

/** The AutoAttack-style stages: each attacks only what the previous ones left robust. */
export const SUITE_STAGES: readonly EvaluationAttackName[] = STANDARD_SUITE_STAGES;

export interface EvaluateRobustnessOptions {
  model: LogitsModel;
  /** The examples to evaluate (a fixed, seeded subset of a test split). */
  dataset: Dataset;
  epsilons: number[];
  norm: PerturbationNorm;
  attacks: readonly EvaluationAttackName[];
  params: EvaluationAttackParams;
  seed: number;
  /** Adversarial examples kept per ε for a gallery. */
  galleryPerEpsilon: number;
  batchSize?: number;
  onProgress?: (fraction: number) => void | Promise<void>;
  /** Awaited after each ε is measured, before the next starts: the place to store it. */
  onPoint?: (point: EpsilonOutcome) => void | Promise<void>;
  /** Checked between batches; true stops the evaluation (`stopped: true`). */
  shouldStop?: () => boolean | Promise<boolean>;
}

export interface AttackOutcome {
  /** An attack name, or 'suite': the per-example worst case over every attack run. */
  attack: EvaluationAttackName | 'suite';
  n: number;
  cleanCorrect: number;
  /** Correct on the clean input and on this attack's adversarial input. */
  robustCorrect: number;
  seconds: number;
  /** Hyperparameters as run, and for the suite stages that they attacked only the examples still robust. */
  details: Record<string, unknown>;
}

export interface GalleryExample {
  exampleIndex: number;
  /** The attack whose input is kept (the first that broke the example), or null if none did. */
  attack: EvaluationAttackName | null;
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  shape: [number, number, number];
  /** Pixels as uint8 (x·255 rounded): for display, not for re-verification. */
  clean: Uint8Array;
  adversarial: Uint8Array;
  linfNorm: number;
  l2Norm: number;
}

export interface EpsilonOutcome {
  epsilon: number;
  outcomes: AttackOutcome[];
  gallery: GalleryExample[];
}

export type EvaluationFlag = ValidityFlag & { epsilon?: number };

export interface RobustnessEvaluation {
  n: number;
  points: EpsilonOutcome[];
  flags: EvaluationFlag[];
  stopped: boolean;
}

/** A contiguous range of the dataset's examples, aligned to the batch size. */
export interface ShardRange {
  /** Index of the first example: a multiple of the batch size. */
  start: number;
  /** A multiple of the batch size, except for the shard that ends the dataset. */
  size: number;
}

export interface EvaluateShardOptions extends Omit<EvaluateRobustnessOptions, 'onPoint'> {
  shard: ShardRange;
}

/** One attack at one ε on a shard's examples. */
export interface ShardAttackResult {
  attack: EvaluationAttackName;
  /** Per example of the shard, in order: the attack broke it (valid perturbation, misclassified). */
  broken: boolean[];
  seconds: number;
  details: Record<string, unknown>;
}

/** A gallery example as plain data: pixels as arrays of uint8 values. */
export interface ShardGalleryExample extends Omit<GalleryExample, 'clean' | 'adversarial'> {
  clean: number[];
  adversarial: number[];
}

export interface ShardEpsilonResult {
  epsilon: number;
  attacks: ShardAttackResult[];
  /**
   * Gallery candidates: first the broken examples in the order the evaluation meets them (batch,
   * then attack, then example), at most galleryPerEpsilon; then unbroken examples by index (attack
   * null) up to galleryPerEpsilon in all. The single pass keeps a prefix of the broken ones over
   * the shards in order and tops up with a prefix of the unbroken ones, so these suffice.
   */
  gallery: ShardGalleryExample[];
}

/**
 * Checks of the model itself, on the first examples of the dataset. The shard that starts at
 * example 0 runs them (and only it), so a distributed evaluation needs no extra job and the
 * parent merging the shards needs no model.
 */
export interface ShardModelChecks {
  /** Zero/NaN gradients and a stochastic forward pass, on the first 64 examples. */
  flags: EvaluationFlag[];
  /** PGD at LARGE_EPSILON on the first examples, per example: broken. Null unless the norm is L∞ and no ε reaches LARGE_EPSILON. */
  probe: { epsilon: number; broken: boolean[] } | null;
}

/** Per-example results of one shard: plain JSON-serialisable data that depends on no other shard. */
export interface ShardResult {
  start: number;
  size: number;
  /** Per example of the shard, in order. */
  labels: number[];
  cleanPredictions: number[];
  /** Per ε, ascending. A stopped shard holds the ε it measured before it stopped. */
  points: ShardEpsilonResult[];
  /** Present exactly on the shard that starts at example 0. */
  checks: ShardModelChecks | null;
  stopped: boolean;
}

/** One attack's per-example results at one ε, over the examples measured so far. */
export type Breaks = Omit<ShardAttackResult, 'attack'>;

/** At L∞ ε = 0.5 every input can be moved to uniform grey, so no classifier stays robust: attacks that fail there are suspect. */
export const LARGE_EPSILON = 0.5;
/** Examples the PGD probe at LARGE_EPSILON runs on, when the curve stops short of it. */
export const PROBE_EXAMPLES = 100;

export const count = (xs: boolean[]) => xs.filter(Boolean).length;
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
