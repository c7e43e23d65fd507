import { createLogitsSquash, createPreprocessing, describeDefense } from '@bulwark/defenses';
import { planShards } from './shard-plan';

const defenseOf = (kinds: Parameters<typeof createPreprocessing>[0][], squash = false) =>
  describeDefense(kinds.map(createPreprocessing), squash ? createLogitsSquash({ kind: 'saturate-logits', temperature: 0.1 }) : undefined);
const ranges = (plan: ReturnType<typeof planShards>) => plan.map((s) => [s.view, s.index, s.start, s.size]);

describe('planShards', () => {
  it('tiles the examples into shards of the fixed size, the last one holding the rest', () => {
    expect(ranges(planShards({ n: 600, shardSize: 256 }))).toEqual([
      ['direct', 0, 0, 256],
      ['direct', 1, 256, 256],
      ['direct', 2, 512, 88],
    ]);
    expect(ranges(planShards({ n: 512, shardSize: 512 }))).toEqual([['direct', 0, 0, 512]]);
    expect(ranges(planShards({ n: 100, shardSize: 256 }))).toEqual([['direct', 0, 0, 100]]);
  });

  it('shards a defense that hides nothing once (naive), one that hides gradients twice (naive, then adaptive)', () => {
    expect(ranges(planShards({ n: 300, shardSize: 256, defense: defenseOf([]) }))).toEqual([
      ['naive', 0, 0, 256],
      ['naive', 1, 256, 44],
    ]);
    expect(ranges(planShards({ n: 300, shardSize: 256, defense: defenseOf([{ kind: 'bit-depth', bits: 3 }]) }))).toEqual([
      ['naive', 0, 0, 256],
      ['naive', 1, 256, 44],
      ['adaptive', 0, 0, 256],
      ['adaptive', 1, 256, 44],
    ]);
    expect(planShards({ n: 300, shardSize: 256, defense: defenseOf([], true) }).map((s) => s.view)).toEqual(['naive', 'naive', 'adaptive', 'adaptive']);
  });

  it('keeps each view of a random defense in one shard: its draws come from one stream in batch order', () => {
    const noisy = defenseOf([{ kind: 'gaussian-noise', sigma: 0.1, seed: 0 }]);
    expect(ranges(planShards({ n: 600, shardSize: 256, defense: noisy }))).toEqual([
      ['naive', 0, 0, 600],
      ['adaptive', 0, 0, 600],
    ]);
  });

  it('refuses an empty evaluation and a shard size that is not a positive integer', () => {
    expect(() => planShards({ n: 0, shardSize: 256 })).toThrow('at least one example');
    expect(() => planShards({ n: 10, shardSize: 0 })).toThrow('shardSize must be a positive integer');
  });
});
