import { createHash } from 'node:crypto';

/**
 * The runs and evaluations behind docs/robustness.{md,json}: every figure of the report is
 * measured by one of these, submitted over the API with an Idempotency-Key made of the entry's
 * id and fingerprint (planKey), so running the report again finds the stored runs instead of
 * training again, and changing an entry (or anything it builds on) makes it a new one.
 */

/** The same seeded subset of the test split for every defense compared (architecture page). */
export const EVALUATION_EXAMPLES = 1000;
export const EVALUATION_SEED = 0;
/**
 * The curve figure's extra ε points use the first half of the seeding's examples: a robust
 * model at ε = 0.05 keeps most examples alive through APGD-T and Square, which made these
 * points the plan's largest cost. The table's figures all use EVALUATION_EXAMPLES.
 */
export const CURVE_EXAMPLES = 500;

export type PlanDataset = 'fashion-mnist' | 'mnist';

export interface PlannedTraining {
  /** Unique within the plan; part of the idempotency key. */
  id: string;
  dataset: PlanDataset;
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
  /**
   * Its priority once its source is trained: wave 1 (default) before wave 2, curve-only points
   * last. report.ts submits the ready evaluation of the lowest wave whenever an evaluation slot
   * is free, so the long ones of a cheap model (the detectors run every attack on every
   * example) do not hold up the defenses' table rows.
   */
  wave?: 1 | 2;
}

const fashion = { dataset: 'fashion-mnist', model: 'cnn-small', seed: 0, batchSize: 128, learningRate: 0.001 } as const;
const fashionMonitor = { name: 'fgsm', epsilon: 0.1 } as const;
/** Wong et al. (2020)'s one-cycle rate for fast adversarial training: up to the run's rate at 40%, then down to 0. */
const oneCycle = { kind: 'cyclic', peakAt: 0.4 } as const;

const mnist = { dataset: 'mnist', model: 'cnn-small', seed: 0, batchSize: 64, learningRate: 0.001 } as const;
const mnistMonitor = { name: 'fgsm', epsilon: 0.3 } as const;

/**
 * The issue's fgsm-rs target compares two training runs 3 points apart, and one run per method
 * moves a robust figure by up to 2 points (the project's fgsm-rs at 65.4 and 67.8 on two seeds
 * of one recipe; 0.5-1.5 in the sweep's replica). So both methods of that target are trained
 * again at these seeds and the targets are judged on the means (report-targets.ts); seed 0 is
 * the plan's own entry. Only the training seed changes: the evaluation keeps its examples and
 * its seed, so the seeds differ by the model alone.
 */
export const REPLICA_SEEDS = [1, 2];

/** The same training at other seeds: ids `<id>-seed<N>`, same defense, same everything else. */
export function seedReplicas(training: PlannedTraining, seeds: number[]): PlannedTraining[] {
  return seeds.map((seed) => ({ ...training, id: `${training.id}-seed${seed}`, replicaOf: training.id, body: { ...training.body, seed } }));
}

const fashionPgdAt: PlannedTraining = {
  id: 'fashion-pgd-at',
  dataset: 'fashion-mnist',
  defense: 'pgd-at',
  body: {
    // Chosen with tools/recipe-sweep (the same network and training in PyTorch on a GPU, its
    // PGD-50 ×3 restarts CE + CW read within 0.5 points of this suite on the v3 runs): v3's
    // 10 epochs of PGD-5 at rate 0.002 gave 83.9% clean / 72.4%, still climbing. PGD-3 costs
    // 4 passes a batch instead of 6 and lost nothing at equal cost (15 epochs: 84.7 / 73.4);
    // rate 0.004 added 1-1.5 points of robustness; a fifth of the loss on the clean batch
    // (Goodfellow et al.'s mix) bought 1-2 points of clean accuracy for about 0.5 of
    // robustness. 16 epochs sit between the sweep's 14 (85.9 / 72.5) and 20 (86.1-86.6 /
    // 73.3-74.0 over two seeds).
    ...fashion, kind: 'adversarial-training', attack: fashionMonitor, epochs: 16, learningRate: 0.004, schedule: oneCycle,
    method: { name: 'pgd', epsilon: 0.1, steps: 3, stepSize: 0.05, randomStart: true, adversarialWeight: 0.8 },
  },
};

const fashionFgsmRs: PlannedTraining = {
  id: 'fashion-fgsm-rs',
  dataset: 'fashion-mnist',
  defense: 'fgsm-rs',
  body: {
    // The same schedule and rate as pgd-at, on the adversarial batch alone (the mix cost it 3
    // points in the sweep). A third of pgd-at's time: 11 epochs. Side by side on this machine
    // (2026-11-26) an 11-epoch fgsm-rs run took 1,305-1,330 CPU s against pgd-at's 4,343 for
    // 16 epochs (0.30×); 12 epochs would be 0.33×. The sweep's fgsm-rs levels off near 70%
    // whatever its budget, while pgd-at keeps climbing with epochs.
    //
    // Tried and not kept (v5): rate 0.006 with ε warmed up over 2 epochs, which the sweep's
    // held-out judge preferred (round 3: 72.5 vs 71.1 under PGD; round 4 with APGD: 70.2 vs
    // 68.8). The project's own runs of it read 65.4% and 67.8% under the suite (seeds 0 and 1)
    // against v4's 69.0%, so the replica's ranking did not carry over to this change.
    //
    // v4 (this recipe without the warm-up) read 69.0, 68.1, 68.8 over seeds 0-2, 3.6 points
    // behind pgd-at's mean. v6 keeps v4's rate and adds only the 2-epoch ε warm-up (step size
    // ramped with ε), the half of v5 that the replica credited on its own: +1.0 with APGD in
    // round 4 (69.8 vs 68.8, two seeds each), +1.0 under PGD in round 3; pgd-at gained nothing
    // from it there (74.2 either way), so pgd-at's recipe stays. Chosen on the replica's
    // held-out judge before any v6 run; the project's runs then read 69.7, 70.2, 68.5 (seeds
    // 0-2, mean 69.5) at the same CPU time, 2.8 points behind pgd-at's mean.
    ...fashion, kind: 'adversarial-training', attack: fashionMonitor, epochs: 11, learningRate: 0.004, schedule: oneCycle,
    // Wong et al. 2020: α = 1.25·ε from a uniform random start; the guard is on by default.
    method: { name: 'fgsm-rs', epsilon: 0.1, stepSize: 0.125, epsilonWarmupEpochs: 2 },
    overfittingGuard: { heldOut: 500, maxDrop: 0.2 },
  },
};

/** The two targets' methods again at seeds 1 and 2, pgd-at first: the longest. */
const FASHION_REPLICAS = [fashionPgdAt, fashionFgsmRs].flatMap((training) => seedReplicas(training, REPLICA_SEEDS));

/**
 * In submission order (report.ts keeps --training-slots of them queued or running): the
 * source of the detector and preprocessing evaluations first, then TRADES (the last Fashion
 * table row without a stored evaluation), the issue's targets (pgd-at, the longest, and
 * fgsm-rs), then the other rows; the teacher and student last, since only the curve figure
 * still needs them once the store holds their table rows.
 */
export const TRAININGS: PlannedTraining[] = [
  { id: 'fashion-none', dataset: 'fashion-mnist', defense: 'none', body: { ...fashion, kind: 'train', attack: fashionMonitor, epochs: 3 } },
  {
    id: 'fashion-trades',
    dataset: 'fashion-mnist',
    defense: 'trades',
    body: {
      // pgd-at's findings carried over (not swept for TRADES itself): three inner steps of
      // ε/2 instead of the authors' ten of ε/4 (pgd-at lost nothing to PGD-3 at equal cost),
      // and its one-cycle rate. Five epochs fit one sitting: 262 CPU s an epoch, against 255 for
      // the pgd-at epoch run beside it (a wasm step: 544 ms against pgd-at's 510 at batch 128).
      ...fashion, kind: 'adversarial-training', attack: fashionMonitor, epochs: 5, learningRate: 0.004, schedule: oneCycle,
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
    body: { ...fashion, kind: 'adversarial-training', attack: fashionMonitor, epochs: 3, method: { name: 'fgsm', epsilon: 0.1 } },
  },
  {
    // The one-cycle rate of the fast runs, up to 0.005: v4's piecewise 0.001 ended at 94.6%
    // clean / 59.3% (FGSM 74.9%); with this schedule a trial run's test FGSM accuracy passed
    // 85% by epoch 4 (held-out PGD-10 0.77), on the same 8,000 training digits.
    id: 'mnist-pgd-at',
    dataset: 'mnist',
    defense: 'pgd-at',
    body: {
      ...mnist, kind: 'adversarial-training', attack: mnistMonitor, epochs: 10, learningRate: 0.005, schedule: oneCycle,
      method: { name: 'pgd', epsilon: 0.3, steps: 10, stepSize: 0.05, randomStart: true },
    },
  },
  {
    // Wong et al. (2020)'s MNIST recipe: α = 1.25·ε and a one-cycle rate up to 0.005 (their
    // code's lr-max), the guard on its default (a drop from the best epoch). v4's run (rate
    // 0.001, piecewise) ended after 2 of its 10 epochs, stopped by the guard when its FGSM-PGD
    // gap was on by default: an 8.8% model. With this schedule the same gap opened (held-out
    // FGSM 0.80 vs PGD 0.12 after epoch 2) and closed (PGD 0.69 by epoch 8), and a trial with
    // the gap on stopped at epoch 2 too: the gap is now opt-in.
    id: 'mnist-fgsm-rs',
    dataset: 'mnist',
    defense: 'fgsm-rs',
    body: {
      ...mnist, kind: 'adversarial-training', attack: mnistMonitor, epochs: 10, learningRate: 0.005, schedule: oneCycle,
      method: { name: 'fgsm-rs', epsilon: 0.3, stepSize: 0.375 },
      overfittingGuard: { heldOut: 500, maxDrop: 0.2 },
    },
  },
  // At T = 20 the logits must grow twenty-fold for the same confidence, and Adam's steps are
  // bounded by the rate: in v2's three epochs the student reached 84.5% clean against the
  // plain model's 90.2%, and an under-fit model is smoother, which the comparison with `none`
  // must not credit to distillation. Six epochs each bring teacher and student level with it.
  { id: 'fashion-teacher-t20', dataset: 'fashion-mnist', body: { ...fashion, kind: 'train', attack: fashionMonitor, epochs: 6, temperature: 20 } },
  {
    id: 'fashion-distillation-t20',
    dataset: 'fashion-mnist',
    defense: 'distillation',
    parent: { plan: 'fashion-teacher-t20', field: 'teacherCheckpoint' },
    body: { ...fashion, kind: 'distillation', attack: fashionMonitor, epochs: 6, temperature: 20 },
  },
];

const carliniWagnerPgd = { params: { pgd: { loss: 'margin' } } };

/** Xu et al. (2018)'s squeezers for grey-scale images, softened for Fashion-MNIST's textures. */
const featureSqueezing = { preprocessing: [{ kind: 'bit-depth', bits: 4 }, { kind: 'median-filter', size: 2 }] };

/**
 * Every evaluation: the standard suite on the same seeded 1,000 test examples. The table's ε
 * first (L∞ 0.1 on Fashion-MNIST, 0.3 on MNIST), then extra ε for the curve figure, which
 * only adds points (the figure degrades to fewer points if those have not run).
 */
export const EVALUATIONS: PlannedEvaluation[] = [
  { id: 'eval-fashion-none', source: 'fashion-none', defense: 'none', epsilons: [0.1] },
  { id: 'eval-fashion-pgd-at', source: 'fashion-pgd-at', defense: 'pgd-at', epsilons: [0.1] },
  { id: 'eval-fashion-fgsm-rs', source: 'fashion-fgsm-rs', defense: 'fgsm-rs', epsilons: [0.1] },
  ...FASHION_REPLICAS.map((t) => ({ id: `eval-${t.id}`, source: t.id, defense: t.defense as string, epsilons: [0.1] })),
  { id: 'eval-fashion-fgsm-at', source: 'fashion-fgsm-at', defense: 'fgsm-at', epsilons: [0.1] },
  // A distilled source gets the naive (softmax) and adaptive (logits / T) views automatically;
  // PGD takes Carlini & Wagner's margin loss. (An earlier evaluation attacked the raw logits,
  // about T times too large: APGD-CE saturated and 11.6% survived, against none's 3.4%.)
  { id: 'eval-fashion-distilled', source: 'fashion-distillation-t20', defense: 'distillation', epsilons: [0.1], extra: carliniWagnerPgd },
  { id: 'eval-fashion-feature-squeezing', source: 'fashion-none', defense: 'feature-squeezing', epsilons: [0.1], extra: { defense: featureSqueezing }, wave: 2 },
  {
    id: 'eval-fashion-detectors',
    source: 'fashion-none',
    defense: 'detector',
    epsilons: [0.1],
    extra: { detectors: [{ kind: 'confidence' }, { kind: 'feature-squeezing' }, { kind: 'mahalanobis' }], validationExamples: 1000 },
    wave: 2,
  },
  { id: 'eval-mnist-fgsm-rs', source: 'mnist-fgsm-rs', defense: 'fgsm-rs', epsilons: [0.3] },
  { id: 'eval-mnist-pgd-at', source: 'mnist-pgd-at', defense: 'pgd-at', epsilons: [0.3] },
  { id: 'eval-fashion-trades', source: 'fashion-trades', defense: 'trades', epsilons: [0.1] },
  ...['none', 'pgd-at', 'fgsm-rs', 'trades', 'fgsm-at'].map((defense) => ({
    id: `curve-fashion-${defense}`,
    source: `fashion-${defense}`,
    defense,
    epsilons: [0.05, 0.2],
    curveOnly: true,
  })),
  { id: 'curve-fashion-distillation', source: 'fashion-distillation-t20', defense: 'distillation', epsilons: [0.05, 0.2], curveOnly: true, extra: carliniWagnerPgd },
];

/** The POST /evaluations body of a planned evaluation, given its source run's id. */
export function evaluationBody(evaluation: PlannedEvaluation, sourceRunId: string): Record<string, unknown> {
  const examples = evaluation.curveOnly ? CURVE_EXAMPLES : EVALUATION_EXAMPLES;
  return { runId: sourceRunId, epsilons: evaluation.epsilons, suite: 'standard', examples, seed: EVALUATION_SEED, ...evaluation.extra };
}

/** The source run id in an evaluation body when fingerprinting it (the real one is only known once trained). */
const SOURCE_PLACEHOLDER = '<source run>';

/** JSON with sorted keys: a fingerprint depends on the content, not on how a literal is written. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const digest = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);

/**
 * Per plan entry, a digest of everything that decides what it measures: a training's body and
 * its parent's fingerprint; an evaluation's body and its source's. Two entries with the same
 * fingerprint measure the same thing, so a stored result can stand for it (report-store.ts).
 */
export function planFingerprints(trainings: PlannedTraining[] = TRAININGS, evaluations: PlannedEvaluation[] = EVALUATIONS): Map<string, string> {
  const prints = new Map<string, string>();
  const trainingPrint = (id: string): string => {
    const known = prints.get(id);
    if (known) return known;
    const training = trainings.find((t) => t.id === id);
    if (!training) throw new Error(`plan: no training '${id}'`);
    const parent = training.parent && { field: training.parent.field, fingerprint: trainingPrint(training.parent.plan) };
    const print = digest({ body: training.body, parent });
    prints.set(id, print);
    return print;
  };
  trainings.forEach((t) => trainingPrint(t.id));
  for (const evaluation of evaluations) {
    prints.set(evaluation.id, digest({ body: evaluationBody(evaluation, SOURCE_PLACEHOLDER), source: trainingPrint(evaluation.source) }));
  }
  return prints;
}

/** The Idempotency-Key of a plan entry: its id and fingerprint. */
export function planKey(id: string, fingerprints: Map<string, string>): string {
  const print = fingerprints.get(id);
  if (!print) throw new Error(`plan: no entry '${id}'`);
  return `${id}-${print}`;
}

/** The trainings `evaluations` need: their sources and, transitively, the runs those build on. */
export function trainingsFor(evaluations: PlannedEvaluation[], trainings: PlannedTraining[] = TRAININGS): PlannedTraining[] {
  const needed = new Set<string>();
  const add = (id: string) => {
    needed.add(id);
    const parent = trainings.find((t) => t.id === id)?.parent;
    if (parent) add(parent.plan);
  };
  evaluations.forEach((e) => add(e.source));
  return trainings.filter((t) => needed.has(t.id));
}
