/** A contiguous part of a minibatch: positions [start, start + size) of its index list. */
export interface ShardRange {
  start: number;
  size: number;
}

/**
 * Splits a minibatch of `examples` into `shards` contiguous ranges whose sizes differ by at
 * most one (the first ones larger); a tail minibatch smaller than the shard count gets one
 * shard per example. Depends only on the two numbers, never on how many workers exist.
 */
export function splitIntoShards(examples: number, shards: number): ShardRange[] {
  if (!Number.isInteger(examples) || examples < 1) throw new Error(`a minibatch needs at least one example, got ${examples}`);
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);
  const count = Math.min(shards, examples);
  const base = Math.floor(examples / count);
  const larger = examples % count;
  const ranges: ShardRange[] = [];
  let start = 0;
  for (let k = 0; k < count; k += 1) {
    const size = base + (k < larger ? 1 : 0);
    ranges.push({ start, size });
    start += size;
  }
  return ranges;
}

/** The seed of shard k's random starts, from the one seed the trainer draws per minibatch. */
export function shardSeed(stepSeed: number, shard: number): number {
  return stepSeed * 64 + shard;
}
