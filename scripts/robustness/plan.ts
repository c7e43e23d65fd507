/**
 * The runs and evaluations behind docs/robustness.{md,json}, as data: every figure of the report
 * is measured by one of these, submitted over the API under an Idempotency-Key made of the
 * entry's id and fingerprint (plan-fingerprint.ts). Each entry says in one line why it is
 * planned as it is; the measurements that chose it are in its `study` page (docs/experiments).
 */
import type { DatasetRef } from '@bulwark/spec';

/** The same seeded subset of the test split for every defense compared (architecture page). */
export const EVALUATION_EXAMPLES = 1000;
export const EVALUATION_SEED = 0;
/**
 * The curve figure's extra ε points use the first half of the seeding's examples: a robust
 * model at ε = 0.05 keeps most examples alive through APGD-T and Square, which made these points
 * the plan's largest cost. The table's figures all use EVALUATION_EXAMPLES.
 */
export const CURVE_EXAMPLES = 500;

/** A page of docs/experiments: the history and figures of one recipe study. */
export type StudyPage = `docs/experiments/${string}.md`;

export interface PlannedTraining {
  /** Unique within the plan; part of the idempotency key. */
  id: string;
  /** A built-in dataset's name or an upload's `upload:<id>`: the report's section its rows go to. */
  dataset: DatasetRef;
  /** The defense this run's model stands for in the report (absent: a helper, e.g. a teacher). */
  defense?: string;
  /** POST /runs body, except the checkpoint id that comes from `parent`. */
  body: Record<string, unknown>;
  /**
   * The planned run this one builds on, through its newest checkpoint: a distillation's teacher
   * (teacherCheckpoint) or the model it fine-tunes (fromCheckpoint). Its training time counts
   * towards this run's.
   */
  parent?: { plan: string; field: 'teacherCheckpoint' | 'fromCheckpoint' };
  /** The plan entry this one repeats at another seed (seedReplicas): its rows are pooled with that entry's. */
  replicaOf?: string;
  /** Why the entry is planned as it is, in one line. Documentation only: not part of the fingerprint. */
  rationale: string;
  /** Where the measurements behind the rationale are. Documentation only, like `rationale`. */
  study?: StudyPage;
}

export interface PlannedEvaluation {
  id: string;
  /** Plan id of the training run whose newest checkpoint is evaluated. */
  source: string;
  /** The defense name of the report rows this evaluation yields. */
  defense: string;
  epsilons: number[];
  /** Extra POST /evaluations fields (defense, detector …). */
  extra?: Record<string, unknown>;
  /** Only the curve figure uses it (points at other ε than the table's); it runs on CURVE_EXAMPLES. */
  curveOnly?: boolean;
  /** Test examples it attacks (default: EVALUATION_EXAMPLES, or CURVE_EXAMPLES for a curve-only point); a user's plan may set it. */
  examples?: number;
  /**
   * Its priority once its source is trained: wave 1 (default) before wave 2, curve-only points
   * last (report-schedule.ts), so the long evaluations of a cheap model (the detectors run every
   * attack on every example) do not hold up the defenses' table rows.
   */
  wave?: 1 | 2;
  /** Why the evaluation is planned as it is, in one line. Documentation only: not part of the fingerprint. */
  rationale: string;
  /** Where the measurements behind the rationale are. Documentation only, like `rationale`. */
  study?: StudyPage;
}

const STUDY = {
  pgdAt: 'docs/experiments/fashion-pgd-at-recipe.md',
  fgsmRs: 'docs/experiments/fashion-fgsm-rs-recipe.md',
  trades: 'docs/experiments/fashion-trades-recipe.md',
  distillation: 'docs/experiments/fashion-distillation.md',
  detectors: 'docs/experiments/fashion-detectors-and-squeezing.md',
  mnist: 'docs/experiments/mnist-recipes.md',
} as const satisfies Record<string, StudyPage>;

const fashion = { dataset: 'fashion-mnist', model: 'cnn-small', seed: 0, batchSize: 128, learningRate: 0.001 } as const;
const fashionMonitor = { name: 'fgsm', epsilon: 0.1 } as const;
/** Wong et al. (2020)'s one-cycle rate for fast adversarial training: up to the run's rate at 40%, then down to 0. */
const oneCycle = { kind: 'cyclic', peakAt: 0.4 } as const;

const mnist = { dataset: 'mnist', model: 'cnn-small', seed: 0, batchSize: 64, learningRate: 0.001 } as const;
const mnistMonitor = { name: 'fgsm', epsilon: 0.3 } as const;

/**
 * One run per method moves a robust figure by about as much as the fgsm-rs target's margin, so
 * both methods of that target are trained again at these seeds and the targets are judged on
 * the means (report-targets.ts); seed 0 is the plan's own entry. Only the training seed changes:
 * the evaluation keeps its examples and its seed, so the seeds differ by the model alone.
 */
export const REPLICA_SEEDS = [1, 2];

/** The same training at other seeds: ids `<id>-seed<N>`, same defense, same everything else. */
export function seedReplicas(training: PlannedTraining, seeds: number[]): Array<PlannedTraining & { replicaOf: string }> {
  return seeds.map((seed) => ({
    ...training,
    id: `${training.id}-seed${seed}`,
    replicaOf: training.id,
    body: { ...training.body, seed },
    rationale: `${training.id} at seed ${seed}: the fgsm-rs target is judged on the mean over seeds`,
  }));
}

const fashionPgdAt: PlannedTraining = {
  id: 'fashion-pgd-at',
  dataset: 'fashion-mnist',
  defense: 'pgd-at',
  rationale: "PGD-3 with a fifth of the loss on clean inputs, one-cycle rate 0.004, 16 epochs: the recipe sweep's best clean/robust balance at this cost",
  study: STUDY.pgdAt,
  body: {
    ...fashion,
    kind: 'adversarial-training',
    attack: fashionMonitor,
    epochs: 16,
    learningRate: 0.004,
    schedule: oneCycle,
    method: { name: 'pgd', epsilon: 0.1, steps: 3, stepSize: 0.05, randomStart: true, adversarialWeight: 0.8 },
  },
};

const fashionFgsmRs: PlannedTraining = {
  id: 'fashion-fgsm-rs',
  dataset: 'fashion-mnist',
  defense: 'fgsm-rs',
  rationale: "pgd-at's rate and schedule on the adversarial batch alone, with a 2-epoch ε warm-up; 11 epochs fit in a third of pgd-at's CPU time",
  study: STUDY.fgsmRs,
  body: {
    ...fashion,
    kind: 'adversarial-training',
    attack: fashionMonitor,
    epochs: 11,
    learningRate: 0.004,
    schedule: oneCycle,
    // Wong et al. 2020: α = 1.25·ε from a uniform random start.
    method: { name: 'fgsm-rs', epsilon: 0.1, stepSize: 0.125, epsilonWarmupEpochs: 2 },
    overfittingGuard: { heldOut: 500, maxDrop: 0.2 },
  },
};

/** The two targets' methods again at seeds 1 and 2, pgd-at first: the longest. */
const FASHION_REPLICAS = [fashionPgdAt, fashionFgsmRs].flatMap((training) => seedReplicas(training, REPLICA_SEEDS));

/**
 * In submission order (the command keeps --training-slots of them queued or running): the source
 * of the detector and preprocessing evaluations first, then TRADES, the targets (pgd-at,
 * the longest, and fgsm-rs) with their replicas, then the other rows; the teacher and student
 * last, since only the curve figure still needs them once the store holds their table rows.
 */
export const TRAININGS: PlannedTraining[] = [
  {
    id: 'fashion-none',
    dataset: 'fashion-mnist',
    defense: 'none',
    rationale: 'the undefended baseline, and the model the preprocessing and detector evaluations sit in front of',
    body: { ...fashion, kind: 'train', attack: fashionMonitor, epochs: 3 },
  },
  {
    id: 'fashion-trades',
    dataset: 'fashion-mnist',
    defense: 'trades',
    rationale: "pgd-at's findings carried over, not swept for TRADES itself: three inner steps of ε/2, one-cycle rate 0.004; 5 epochs fit one sitting",
    study: STUDY.trades,
    body: {
      ...fashion,
      kind: 'adversarial-training',
      attack: fashionMonitor,
      epochs: 5,
      learningRate: 0.004,
      schedule: oneCycle,
      method: { name: 'trades', epsilon: 0.1, beta: 6, steps: 3, stepSize: 0.05 },
    },
  },
  fashionPgdAt,
  fashionFgsmRs,
  ...FASHION_REPLICAS,
  {
    id: 'fashion-fgsm-at',
    dataset: 'fashion-mnist',
    defense: 'fgsm-at',
    rationale: 'plain FGSM adversarial training (Goodfellow et al.), the weak baseline fgsm-rs improves on',
    body: { ...fashion, kind: 'adversarial-training', attack: fashionMonitor, epochs: 3, method: { name: 'fgsm', epsilon: 0.1 } },
  },
  {
    id: 'mnist-pgd-at',
    dataset: 'mnist',
    defense: 'pgd-at',
    rationale: "Madry et al.'s PGD-10 at ε 0.3 on the one-cycle rate up to 0.005, which the fast runs use; the piecewise 0.001 rate under-trained it",
    study: STUDY.mnist,
    body: {
      ...mnist,
      kind: 'adversarial-training',
      attack: mnistMonitor,
      epochs: 10,
      learningRate: 0.005,
      schedule: oneCycle,
      method: { name: 'pgd', epsilon: 0.3, steps: 10, stepSize: 0.05, randomStart: true },
    },
  },
  {
    id: 'mnist-fgsm-rs',
    dataset: 'mnist',
    defense: 'fgsm-rs',
    rationale: "Wong et al. (2020)'s MNIST recipe: α = 1.25·ε, one-cycle rate up to 0.005, the overfitting guard on its default",
    study: STUDY.mnist,
    body: {
      ...mnist,
      kind: 'adversarial-training',
      attack: mnistMonitor,
      epochs: 10,
      learningRate: 0.005,
      schedule: oneCycle,
      method: { name: 'fgsm-rs', epsilon: 0.3, stepSize: 0.375 },
      overfittingGuard: { heldOut: 500, maxDrop: 0.2 },
    },
  },
  {
    id: 'fashion-teacher-t20',
    dataset: 'fashion-mnist',
    rationale: "the distillation teacher at T = 20; 6 epochs bring it level with the plain model's clean accuracy",
    study: STUDY.distillation,
    body: { ...fashion, kind: 'train', attack: fashionMonitor, epochs: 6, temperature: 20 },
  },
  {
    id: 'fashion-distillation-t20',
    dataset: 'fashion-mnist',
    defense: 'distillation',
    parent: { plan: 'fashion-teacher-t20', field: 'teacherCheckpoint' },
    rationale: 'defensive distillation at T = 20; 6 epochs, so an under-fit (smoother) student is not credited to distillation',
    study: STUDY.distillation,
    body: { ...fashion, kind: 'distillation', attack: fashionMonitor, epochs: 6, temperature: 20 },
  },
];

const carliniWagnerPgd = { params: { pgd: { loss: 'margin' } } };

/** Xu et al. (2018)'s squeezers for grey-scale images, softened for Fashion-MNIST's textures. */
const featureSqueezing = {
  preprocessing: [
    { kind: 'bit-depth', bits: 4 },
    { kind: 'median-filter', size: 2 },
  ],
};

/**
 * Every evaluation: the standard suite on the same seeded test examples. The table's ε first
 * (L∞ 0.1 on Fashion-MNIST, 0.3 on MNIST), then extra ε for the curve figure, which only adds
 * points (the figure degrades to fewer points if those have not run).
 */
export const EVALUATIONS: PlannedEvaluation[] = [
  { id: 'eval-fashion-none', source: 'fashion-none', defense: 'none', epsilons: [0.1], rationale: 'the undefended row the targets compare against' },
  { id: 'eval-fashion-pgd-at', source: 'fashion-pgd-at', defense: 'pgd-at', epsilons: [0.1], rationale: "the pgd-at target's row", study: STUDY.pgdAt },
  { id: 'eval-fashion-fgsm-rs', source: 'fashion-fgsm-rs', defense: 'fgsm-rs', epsilons: [0.1], rationale: "the fgsm-rs target's row", study: STUDY.fgsmRs },
  ...FASHION_REPLICAS.map((t) => ({
    id: `eval-${t.id}`,
    source: t.id,
    defense: t.defense as string,
    epsilons: [0.1],
    rationale: `the ${t.replicaOf} target row at seed ${String(t.body.seed)}, on the same examples and attack seed`,
    study: t.study,
  })),
  { id: 'eval-fashion-fgsm-at', source: 'fashion-fgsm-at', defense: 'fgsm-at', epsilons: [0.1], rationale: "the single-step baseline's row" },
  {
    id: 'eval-fashion-distilled',
    source: 'fashion-distillation-t20',
    defense: 'distillation',
    epsilons: [0.1],
    extra: carliniWagnerPgd,
    // A distilled source gets the naive (softmax) and adaptive (logits / T) views automatically.
    rationale: "naive and adaptive (logits / T) views, PGD on Carlini & Wagner's margin loss, which the T-fold logits do not saturate",
    study: STUDY.distillation,
  },
  {
    id: 'eval-fashion-feature-squeezing',
    source: 'fashion-none',
    defense: 'feature-squeezing',
    epsilons: [0.1],
    extra: { defense: featureSqueezing },
    wave: 2,
    rationale: 'a preprocessing defense, naive and through BPDA side by side, so gradient masking shows',
    study: STUDY.detectors,
  },
  {
    id: 'eval-fashion-detectors',
    source: 'fashion-none',
    defense: 'detector',
    epsilons: [0.1],
    extra: { detectors: [{ kind: 'confidence' }, { kind: 'feature-squeezing' }, { kind: 'mahalanobis' }], validationExamples: 1000 },
    wave: 2,
    rationale: 'three detectors in front of the undefended model, each also against a detector-aware attack; the longest evaluation, hence wave 2',
    study: STUDY.detectors,
  },
  {
    id: 'eval-mnist-fgsm-rs',
    source: 'mnist-fgsm-rs',
    defense: 'fgsm-rs',
    epsilons: [0.3],
    rationale: "fgsm-rs at MNIST's customary ε 0.3",
    study: STUDY.mnist,
  },
  { id: 'eval-mnist-pgd-at', source: 'mnist-pgd-at', defense: 'pgd-at', epsilons: [0.3], rationale: "pgd-at at MNIST's customary ε 0.3", study: STUDY.mnist },
  { id: 'eval-fashion-trades', source: 'fashion-trades', defense: 'trades', epsilons: [0.1], rationale: 'the TRADES row', study: STUDY.trades },
  ...['none', 'pgd-at', 'fgsm-rs', 'trades', 'fgsm-at'].map((defense) => ({
    id: `curve-fashion-${defense}`,
    source: `fashion-${defense}`,
    defense,
    epsilons: [0.05, 0.2],
    curveOnly: true,
    rationale: `${defense}'s curve points either side of the table's ε`,
  })),
  {
    id: 'curve-fashion-distillation',
    source: 'fashion-distillation-t20',
    defense: 'distillation',
    epsilons: [0.05, 0.2],
    curveOnly: true,
    extra: carliniWagnerPgd,
    rationale: "distillation's curve points, evaluated as its table row",
  },
];

/** The POST /evaluations body of a planned evaluation, given its source run's id. */
export function evaluationBody(evaluation: PlannedEvaluation, sourceRunId: string): Record<string, unknown> {
  const examples = evaluation.examples ?? (evaluation.curveOnly ? CURVE_EXAMPLES : EVALUATION_EXAMPLES);
  return { runId: sourceRunId, epsilons: evaluation.epsilons, suite: 'standard', examples, seed: EVALUATION_SEED, ...evaluation.extra };
}
