import { type EvaluateRobustnessOptions, type RobustnessEvaluation } from './robustness-evaluation';
import { runShard } from './evaluate-shard';
import { mergeShards, mergeMeasured, mergePoint } from './merge-shards';

/**
 * Clean and robust accuracy of `model` on `dataset` at every ε, per attack and for the
 * per-example worst case over all of them, with the validity checks of Carlini et al. (2019)
 * computed from the results. Each attack's own result is re-verified by the attack library
 * (‖δ‖ ≤ ε within 1e-5, inside [0,1]) before it counts. The whole dataset as one shard, merged:
 * the same result, bit for bit, as any tiling of it into shards of a fixed size.
 */
export async function evaluateRobustness(options: EvaluateRobustnessOptions): Promise<RobustnessEvaluation> {
  const { dataset, norm, galleryPerEpsilon } = options;
  const shard = await runShard({ ...options, shard: { start: 0, size: dataset.size } }, async (sofar) => {
    const cleanCorrect = sofar.cleanPredictions.map((p, i) => p === sofar.labels[i]);
    await options.onPoint?.(mergePoint([sofar], sofar.points.length - 1, cleanCorrect, galleryPerEpsilon).point);
  });
  if (shard.stopped) {
    const { n, points, flags } = mergeMeasured([shard], galleryPerEpsilon);
    return { n, points, flags, stopped: true };
  }
  return mergeShards([shard], { n: dataset.size, norm, galleryPerEpsilon });
}
