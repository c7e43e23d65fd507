import { Injectable, NotFoundException } from '@nestjs/common';
import { EvaluationResultRepository, Run, RunRepository } from '@bulwark/database';
import type { LineageRecord } from './lineage.mapper';

/** A parent chain longer than this is a corrupt table (a cycle), not a lineage. */
const MAX_DEPTH = 64;

/**
 * "base → adversarially fine-tuned → distilled" and the robustness of each: a run's ancestors
 * by lineage (fine-tuning's checkpoint, distillation's teacher), with every evaluation of each.
 */
@Injectable()
export class LineageService {
  constructor(
    private readonly runs: RunRepository,
    private readonly results: EvaluationResultRepository,
  ) {}

  /** Within the tenant only: a parent of another tenant (which cannot be recorded since tenants exist) ends the chain. */
  async lineage(tenantId: string, id: string): Promise<LineageRecord> {
    const start = await this.runs.findOwned(tenantId, id);
    if (!start) throw new NotFoundException(`run ${id} not found`);
    if (start.kind === 'evaluation')
      throw new NotFoundException(`run ${id} is an evaluation; ask for the lineage of its source run ${String(start.parentRunId)}`);
    const chain: Run[] = [start];
    while (chain[0].parentRunId && chain.length < MAX_DEPTH) {
      const parent = await this.runs.findOwned(tenantId, chain[0].parentRunId);
      if (!parent || chain.some((r) => r.id === parent.id)) break;
      chain.unshift(parent);
    }
    const evaluations = await this.runs.findEvaluations({ tenantId, sourceRunIds: chain.map((r) => r.id), order: 'oldest-first' });
    const results = await this.results.resultsOf(evaluations.map((e) => e.id));
    const children = await this.runs.findDerived(tenantId, id);
    return { runId: id, chain, evaluations, results, children };
  }
}
