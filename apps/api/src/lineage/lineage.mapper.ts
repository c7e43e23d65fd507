import type { RobustnessResult, Run } from '@bulwark/database';
import type { ModelRunSpec } from '@bulwark/spec';
import { toCurve } from '../evaluations/robustness-curve.mapper';
import type { LineageEvaluationResponse, LineageNodeResponse, LineageResponse } from './lineage.response';

/** A run's ancestry as read from Postgres: the chain, root first, and what hangs off it. */
export interface LineageRecord {
  runId: string;
  chain: Run[];
  /** Evaluations of any run of the chain, oldest first. */
  evaluations: Run[];
  /** Their robustness rows. */
  results: RobustnessResult[];
  children: Run[];
}

export function toLineageResponse({ runId, chain, evaluations, results, children }: LineageRecord): LineageResponse {
  return {
    runId,
    chain: chain.map((run) => ({
      ...describe(run),
      evaluations: evaluations
        .filter((e) => e.parentRunId === run.id)
        .map((e) =>
          summarise(
            e,
            results.filter((r) => r.runId === e.id),
          ),
        ),
    })),
    children: children.map(({ id, kind, status }) => ({ id, kind, status })),
  };
}

function describe(run: Run): Omit<LineageNodeResponse, 'evaluations'> {
  const spec = run.spec as ModelRunSpec;
  const training =
    spec.kind === 'import'
      ? `imported TensorFlow.js model${spec.name ? ` "${spec.name}"` : ''}`
      : spec.kind === 'distillation'
        ? `distillation at T = ${String(spec.temperature)}`
        : spec.kind === 'adversarial-training'
          ? `adversarial training (${spec.method?.name ?? 'fgsm'}, ε = ${spec.method?.epsilon ?? spec.attack.epsilon})`
          : spec.temperature !== undefined
            ? `training at T = ${spec.temperature} (a distillation teacher)`
            : 'training';
  return {
    id: run.id,
    kind: run.kind,
    status: run.status,
    dataset: spec.dataset,
    model: spec.model,
    training,
    parentRunId: run.parentRunId,
    parentCheckpointId: run.parentCheckpointId,
    createdAt: run.createdAt,
  };
}

function summarise(evaluation: Run, rows: RobustnessResult[]): LineageEvaluationResponse {
  const curve = toCurve(rows.filter((r) => r.view !== 'adaptive'));
  const adaptive = toCurve(rows.filter((r) => r.view === 'adaptive'));
  return {
    id: evaluation.id,
    status: evaluation.status,
    checkpointId: evaluation.parentCheckpointId,
    points: curve.map((p) => ({
      epsilon: p.epsilon,
      n: p.n,
      clean: p.cleanAccuracy,
      robust: p.robustAccuracy.suite ?? null,
      adaptiveRobust: adaptive.find((a) => a.epsilon === p.epsilon)?.robustAccuracy.suite ?? null,
    })),
  };
}
