import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Not, Repository } from 'typeorm';
import { RobustnessResult, Run } from '@bulwark/database';
import type { ModelRunSpec } from '@bulwark/spec';
import { toCurve } from '../evaluations/evaluations.service';

/** A parent chain longer than this is a corrupt table (a cycle), not a lineage. */
const MAX_DEPTH = 64;

export interface LineageEvaluation {
  id: string;
  status: Run['status'];
  checkpointId: string | null;
  /** Per ε: clean and worst-case ("suite") robust accuracy, and the adaptive view's where the defense hides gradients. */
  points: Array<{ epsilon: number; n: number; clean: number; robust: number | null; adaptiveRobust: number | null }>;
}

export interface LineageNode {
  id: string;
  kind: Run['kind'];
  status: Run['status'];
  dataset: string;
  model: string;
  /** Where it came from: an import, the adversarial-training method, distillation or plain training. */
  training: string;
  parentRunId: string | null;
  parentCheckpointId: string | null;
  createdAt: Date;
  evaluations: LineageEvaluation[];
}

/**
 * "base → adversarially fine-tuned → distilled" and the robustness of each: a run's ancestors
 * by lineage (fine-tuning's checkpoint, distillation's teacher), with every evaluation of each.
 */
@Injectable()
export class LineageService {
  constructor(
    @InjectRepository(Run) private readonly runs: Repository<Run>,
    @InjectRepository(RobustnessResult) private readonly results: Repository<RobustnessResult>,
  ) {}

  async lineage(id: string): Promise<{ runId: string; chain: LineageNode[]; children: Array<Pick<LineageNode, 'id' | 'kind' | 'status'>> }> {
    const start = await this.runs.findOneBy({ id });
    if (!start) throw new NotFoundException(`run ${id} not found`);
    if (start.kind === 'evaluation') throw new NotFoundException(`run ${id} is an evaluation; ask for the lineage of its source run ${start.parentRunId}`);
    const chain: Run[] = [start];
    while (chain[0].parentRunId && chain.length < MAX_DEPTH) {
      const parent = await this.runs.findOneBy({ id: chain[0].parentRunId });
      if (!parent || chain.some((r) => r.id === parent.id)) break;
      chain.unshift(parent);
    }
    const ids = chain.map((r) => r.id);
    const evaluations = await this.runs.find({ where: { kind: 'evaluation', parentRunId: In(ids) }, order: { createdAt: 'ASC' } });
    const rows = evaluations.length ? await this.results.findBy({ runId: In(evaluations.map((e) => e.id)) }) : [];
    const children = await this.runs.find({ where: { parentRunId: id, kind: Not('evaluation') }, order: { createdAt: 'ASC' } });
    return {
      runId: id,
      chain: chain.map((run) => ({
        ...describe(run),
        evaluations: evaluations.filter((e) => e.parentRunId === run.id).map((e) => summarise(e, rows.filter((r) => r.runId === e.id))),
      })),
      children: children.map(({ id: childId, kind, status }) => ({ id: childId, kind, status })),
    };
  }
}

function describe(run: Run): Omit<LineageNode, 'evaluations'> {
  const spec = run.spec as ModelRunSpec;
  const training = spec.kind === 'import'
    ? `imported TensorFlow.js model${spec.name ? ` "${spec.name}"` : ''}`
    : spec.kind === 'distillation'
    ? `distillation at T = ${spec.temperature}`
    : spec.kind === 'adversarial-training'
      ? `adversarial training (${spec.method?.name ?? 'fgsm'}, ε = ${spec.method?.epsilon ?? spec.attack?.epsilon})`
      : spec.temperature !== undefined ? `training at T = ${spec.temperature} (a distillation teacher)` : 'training';
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

function summarise(evaluation: Run, rows: RobustnessResult[]): LineageEvaluation {
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
