import type { DefenseDescription } from '@bulwark/defenses';
import type { EvaluationView } from '@bulwark/spec';
import type { ShardRange } from './robustness-evaluation';

/** One shard job of an evaluation: a range of its examples under one view. */
export interface PlannedShard extends ShardRange {
  view: EvaluationView;
  /** Position of the shard in its view, from 0. */
  index: number;
}

export interface ShardPlanOptions {
  /** Examples in the evaluation's subset. */
  n: number;
  /** Examples per shard, a multiple of the batch size (the spec's shardSize). */
  shardSize: number;
  /** The defense in front of the model, if any, as createDefense describes it. */
  defense?: DefenseDescription;
}

/**
 * The views an evaluation measures: the bare model ('direct'); a defense as deployed ('naive'),
 * and through BPDA / EOT / its logits ('adaptive') when it hides gradients.
 */
export function evaluationViews(defense?: DefenseDescription): EvaluationView[] {
  if (!defense) return ['direct'];
  return defense.needsAdaptiveEvaluation ? ['naive', 'adaptive'] : ['naive'];
}

/**
 * Every shard of an evaluation, view by view, each view's shards in example order. The tiling is
 * a function of the spec alone, never of the number of workers. A random defense draws its noise
 * from one stream per forward pass (deployed) or per call (EOT), so its numbers depend on the
 * order of the batches: each of its views stays one shard, which gives exactly a single pass.
 */
export function planShards({ n, shardSize, defense }: ShardPlanOptions): PlannedShard[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`an evaluation needs at least one example, got ${n}`);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`shardSize must be a positive integer, got ${shardSize}`);
  const size = defense?.randomised ? n : shardSize;
  const ranges: ShardRange[] = [];
  for (let start = 0; start < n; start += size) ranges.push({ start, size: Math.min(size, n - start) });
  return evaluationViews(defense).flatMap((view) => ranges.map((range, index) => ({ view, index, ...range })));
}
