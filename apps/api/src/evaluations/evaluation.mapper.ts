import type { AdversarialExampleWithPixels, RobustnessResult, Run, ShardCounts } from '@bulwark/database';
import type { DetectionResult } from '@bulwark/spec';
import { toRunResponse } from '../runs/run.mapper';
import type {
  AdversarialExampleResponse,
  EvaluationListResponse,
  EvaluationResponse,
  EvaluationSummaryResponse,
  RobustnessResultResponse,
} from './evaluation.response';
import { toCurves } from './robustness-curve.mapper';

/** An evaluation run with everything it measured. */
export interface EvaluationRecord {
  run: Run;
  results: RobustnessResult[];
  gallery: AdversarialExampleWithPixels[];
  shards: ShardCounts | null;
}

/** `rows` may hold other evaluations' rows too: each summary takes its own. */
export function toEvaluationSummary(run: Run, rows: RobustnessResult[], shards: ShardCounts | null, waitingFor: string | null): EvaluationSummaryResponse {
  return { run: toRunResponse(run, waitingFor), ...toCurves(rows.filter((r) => r.runId === run.id)), flags: run.result?.flags ?? null, shards };
}

export function toEvaluationListResponse(
  evaluations: Run[],
  rows: RobustnessResult[],
  shards: ReadonlyMap<string, ShardCounts>,
  waitReasons: ReadonlyMap<string, string>,
): EvaluationListResponse {
  return { items: evaluations.map((run) => toEvaluationSummary(run, rows, shards.get(run.id) ?? null, waitReasons.get(run.id) ?? null)) };
}

export function toEvaluationResponse({ run, results, gallery, shards }: EvaluationRecord, waitingFor: string | null): EvaluationResponse {
  const { run: runResponse, curve, adaptiveCurve, flags } = toEvaluationSummary(run, results, shards, waitingFor);
  return {
    run: runResponse,
    curve,
    adaptiveCurve,
    flags,
    shards,
    results: results.map(toRobustnessResultResponse),
    examples: gallery.map(toAdversarialExampleResponse),
    detection: (run.result?.detection as DetectionResult | undefined) ?? null,
  };
}

function toRobustnessResultResponse(row: RobustnessResult): RobustnessResultResponse {
  return {
    runId: row.runId,
    view: row.view,
    epsilon: row.epsilon,
    attack: row.attack,
    n: row.n,
    cleanCorrect: row.cleanCorrect,
    robustCorrect: row.robustCorrect,
    seconds: row.seconds,
    details: row.details,
    recordedAt: row.recordedAt,
  };
}

function toAdversarialExampleResponse(example: AdversarialExampleWithPixels): AdversarialExampleResponse {
  return {
    id: example.id,
    runId: example.runId,
    view: example.view,
    epsilon: example.epsilon,
    exampleIndex: example.exampleIndex,
    attack: example.attack,
    label: example.label,
    cleanPrediction: example.cleanPrediction,
    adversarialPrediction: example.adversarialPrediction,
    shape: example.shape,
    linfNorm: example.linfNorm,
    l2Norm: example.l2Norm,
    clean: example.clean.toString('base64'),
    adversarial: example.adversarial.toString('base64'),
  };
}
