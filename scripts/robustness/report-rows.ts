import type { PlannedEvaluation, PlannedTraining } from './plan';

/** One curve point as GET /evaluations/:id returns it (fractions with their n). */
export interface CurvePoint {
  epsilon: number;
  n: number;
  cleanAccuracy: number;
  /** Per attack, and 'suite': the per-example worst case over all of them. */
  robustAccuracy: Record<string, number>;
}

export interface StoredRun {
  id: string;
  status: string;
  spec: Record<string, unknown> & { seed?: number; dataset?: string; model?: string };
  result: Record<string, unknown> | null;
  backend: { name: string; threads: number; tfjsVersion: string } | null;
}

export interface StoredTraining {
  plan: PlannedTraining;
  run: StoredRun;
  /** epoch_seconds of every epoch, in order (training, the guard and the per-epoch FGSM check). */
  epochSeconds: number[];
  /** epoch_cpu_seconds, the same epochs' CPU time (runs stored before it existed lack it). */
  epochCpuSeconds: number[];
  /** The run it builds on (a distillation's teacher, a fine-tuned model), whose training is part of the defense's cost. */
  parent?: StoredTraining;
  /** Its newest checkpoint, where known (records stored before it was kept lack it). */
  finalCheckpoint?: { epoch: number; sha256: string };
}

export interface StoredEvaluation {
  plan: PlannedEvaluation;
  run: StoredRun;
  curve: CurvePoint[];
  adaptiveCurve: CurvePoint[] | null;
}

/** A row of docs/robustness.json. Accuracies are fractions in [0, 1] measured on `n` examples. */
export interface ReportRow {
  dataset: string;
  model: string;
  defense: string;
  norm: 'linf' | 'l2';
  epsilon: number;
  /** 'standard' = per-example worst case over FGSM, PGD-20, APGD-CE, APGD-T and Square; see ATTACK_NOTES. */
  attack: string;
  clean: number;
  robust: number;
  /** CPU seconds of training (see trainSecondsOf). */
  trainSeconds: number;
  /** Wall-clock seconds of the same epochs, with other jobs sharing the machine. */
  trainWallSeconds: number;
  seed: number;
  command: string;
  n: number;
  /** Robust accuracy per attack of the suite (same examples). */
  byAttack?: Record<string, number>;
  /** Detector rows: detected / fooled at the detector's 5%-FPR threshold, and the ROC AUC. */
  detectionRate?: number | null;
  rocAuc?: number | null;
  /** Validity flags the evaluation raised on the view behind this row; per-ε ones with their count of examples (raisedFlags). */
  flags: string[];
  runId: string;
  evaluationId: string;
  evaluationSeed: number;
  /** SHA-256 of the checkpoint the evaluation attacked: the model the row measures. */
  checkpointSha256?: string;
  /** For curve-only points. */
  curveOnly?: boolean;
  /** The plan entry whose training this row's run repeats at another seed (plan.ts, REPLICA_SEEDS). */
  replicaOf?: string;
}

export const ATTACK_NOTES: Record<string, string> = {
  standard: 'the standard suite on the model itself: per example, the worst of FGSM, PGD-20, APGD-CE, APGD-T (3 targets) and Square (1,000 queries)',
  'standard-naive':
    'the standard suite on the deployed defense as it answers (softmax output, non-differentiable preprocessing): what a naive evaluation reports',
  'standard-bpda': "the standard suite through BPDA (the preprocessing's backward pass approximated by the identity), judged on the deployed defense",
  'standard-eot': 'the standard suite with EOT over the random preprocessing',
  'standard-logits':
    "the standard suite on the logits under the softmax divided by the distillation temperature (Carlini & Wagner's evaluation of distillation)",
  'detector-aware-pgd': "PGD on the classifier loss plus the detector's score, so the adversarial input must also pass the detector",
  'standard+detector-aware': "the stack's worst case per example over every attack above and the detector-aware one",
};

/** A user's plan file and report folder, which the commands that repeat a row must name. */
export interface PlanFileLocation {
  planFile: string;
  out: string;
}

/** The command that measures one evaluation of the plan again (the built-in plan's, or a user's file's). */
export function reportCommand(evaluationId: string, location?: PlanFileLocation): string {
  const plan = location ? `--plan ${location.planFile} --out ${location.out} ` : '';
  return `npm run report:robustness -- ${plan}--only ${evaluationId}`;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Training cost in CPU seconds, the parent's included: on a machine shared by two jobs and
 * their evaluations, wall time says as much about the neighbours as about the method. Wall
 * time stands in for runs whose epochs lack CPU time.
 */
export function trainSecondsOf(training: StoredTraining): number {
  const cpuComplete = training.epochCpuSeconds.length === training.epochSeconds.length;
  const own = sum(cpuComplete ? training.epochCpuSeconds : training.epochSeconds);
  return Math.round(own + (training.parent ? trainSecondsOf(training.parent) : 0));
}

export function trainWallSecondsOf(training: StoredTraining): number {
  return Math.round(sum(training.epochSeconds) + (training.parent ? trainWallSecondsOf(training.parent) : 0));
}

/** The adaptive view's attack name from the stored description of what the adaptive view did. */
function adaptiveAttackName(result: Record<string, unknown> | null): string {
  const adaptive = (result?.adaptiveAttack ?? {}) as { bpda?: string[]; eot?: string[]; logitsBeforeSquash?: string | null };
  if (adaptive.eot?.length) return 'standard-eot';
  if (adaptive.bpda?.length) return 'standard-bpda';
  if (adaptive.logitsBeforeSquash) return 'standard-logits';
  return 'standard-adaptive';
}

/**
 * The validity flags raised on a row's view: the evaluation's own (model and curve checks) and
 * the per-ε ones of the row's ε, those with how many examples raised them, since one example
 * out of a thousand where Square beat every gradient attack is not the masking that hundreds
 * would be, and a reader should see which it is.
 */
function raisedFlags(result: Record<string, unknown> | null, key: 'flags' | 'adaptiveFlags', epsilon: number): string[] {
  const flags = (result?.[key] ?? []) as Array<{ flag: string; raised: boolean; epsilon?: number; examples?: number[] }>;
  // A check can run more than once per ε (PGD and APGD-CE each against FGSM): the larger count.
  const count = new Map<string, number | undefined>();
  for (const f of flags) {
    if (!f.raised || (f.epsilon !== undefined && Math.abs(f.epsilon - epsilon) > 1e-9)) continue;
    const examples = f.epsilon === undefined ? undefined : (f.examples?.length ?? 0);
    count.set(f.flag, examples === undefined ? count.get(f.flag) : Math.max(examples, count.get(f.flag) ?? 0));
  }
  return [...count].map(([flag, n]) => (n === undefined ? flag : `${flag} (${n} example${n === 1 ? '' : 's'})`));
}

/**
 * A row pairs an evaluation with the training run of its plan entry, which may be a later run
 * than the one the evaluation attacked (a store entry's training re-run, or resumed, to
 * evaluate it again): training is deterministic, so both end on the same checkpoint. Where
 * both hashes are known and differ, the row's numbers are not this run's model, and it says so.
 */
function checkpointMismatch(source: StoredTraining, evaluated: { sha256?: string } | undefined): string[] {
  const trained = source.finalCheckpoint?.sha256;
  if (trained === undefined || evaluated?.sha256 === undefined || trained === evaluated.sha256) return [];
  return [`evaluated-another-checkpoint (${evaluated.sha256.slice(0, 12)}, run ${source.run.id.slice(0, 8)} ended on ${trained.slice(0, 12)})`];
}

const ATTACKS_OF_SUITE = ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'];

function byAttackOf(point: CurvePoint): Record<string, number> {
  return Object.fromEntries(ATTACKS_OF_SUITE.filter((a) => a in point.robustAccuracy).map((a) => [a, point.robustAccuracy[a]]));
}

interface DetectionOutcome {
  attack: string;
  detectionRate: number | null;
  rocAuc: number | null;
  stackRobust: number;
}
interface DetectionPoint {
  epsilon: number;
  n: number;
  cleanAccepted: number;
  outcomes: DetectionOutcome[];
  worstCase: { stackRobust: number };
}
interface DetectorResult {
  detector: { kind: string };
  points: DetectionPoint[];
}

/**
 * The report's rows from stored runs and evaluations, in plan order (`location`: a user's plan
 * file's). Only succeeded evaluations of succeeded runs count; nothing here is typed in by hand.
 */
export function buildRows(trainings: StoredTraining[], evaluations: StoredEvaluation[], location?: PlanFileLocation): ReportRow[] {
  const trainingById = new Map(trainings.map((t) => [t.plan.id, t]));
  const rows: ReportRow[] = [];
  for (const evaluation of evaluations) {
    const source = trainingById.get(evaluation.plan.source);
    if (!source || source.run.status !== 'succeeded' || evaluation.run.status !== 'succeeded') continue;
    const evaluated = evaluation.run.result?.checkpoint as { sha256?: string } | undefined;
    const mismatch = checkpointMismatch(source, evaluated);
    const common = {
      dataset: source.plan.dataset,
      model: String(source.run.spec.model),
      norm: 'linf' as const,
      trainSeconds: trainSecondsOf(source),
      trainWallSeconds: trainWallSecondsOf(source),
      seed: Number(source.run.spec.seed),
      command: reportCommand(evaluation.plan.id, location),
      runId: source.run.id,
      evaluationId: evaluation.run.id,
      evaluationSeed: Number(evaluation.run.spec.seed),
      ...(evaluated?.sha256 !== undefined && { checkpointSha256: evaluated.sha256 }),
      ...(evaluation.plan.curveOnly && { curveOnly: true }),
      ...(source.plan.replicaOf !== undefined && { replicaOf: source.plan.replicaOf }),
    };
    const pointRow = (point: CurvePoint, defense: string, attack: string, flags: string[]): ReportRow => ({
      ...common,
      defense,
      epsilon: point.epsilon,
      attack,
      clean: point.cleanAccuracy,
      robust: point.robustAccuracy.suite,
      n: point.n,
      byAttack: byAttackOf(point),
      flags: [...mismatch, ...flags],
    });

    const detection = evaluation.run.result?.detection as { detectors: DetectorResult[] } | undefined;
    if (evaluation.plan.defense === 'detector') {
      for (const { detector, points } of detection?.detectors ?? []) {
        for (const point of points) {
          const base = {
            ...common,
            defense: `${detector.kind}-detector`,
            epsilon: point.epsilon,
            n: point.n,
            clean: point.cleanAccepted / point.n,
            flags: mismatch,
          };
          for (const outcome of point.outcomes) {
            rows.push({ ...base, attack: outcome.attack, robust: outcome.stackRobust / point.n, detectionRate: outcome.detectionRate, rocAuc: outcome.rocAuc });
          }
          rows.push({ ...base, attack: 'standard+detector-aware', robust: point.worstCase.stackRobust / point.n });
        }
      }
      continue;
    }
    const defense = evaluation.plan.defense;
    const points = evaluation.curve.filter((p) => p.epsilon > 0);
    if (evaluation.adaptiveCurve) {
      const adaptive = adaptiveAttackName(evaluation.run.result);
      for (const point of points) rows.push(pointRow(point, defense, 'standard-naive', raisedFlags(evaluation.run.result, 'flags', point.epsilon)));
      for (const point of evaluation.adaptiveCurve.filter((p) => p.epsilon > 0)) {
        rows.push(pointRow(point, defense, adaptive, raisedFlags(evaluation.run.result, 'adaptiveFlags', point.epsilon)));
      }
    } else {
      for (const point of points) rows.push(pointRow(point, defense, 'standard', raisedFlags(evaluation.run.result, 'flags', point.epsilon)));
    }
  }
  return rows;
}
