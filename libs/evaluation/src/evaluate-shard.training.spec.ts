import { takeExamples, type Dataset } from '@bulwark/data';
import { asLogitsModel } from '@bulwark/models';
import { evaluateRobustness } from './evaluate-robustness';
import { evaluateShard } from './evaluate-shard';
import { mergeShards } from './merge-shards';
import { type EvaluateRobustnessOptions, type RobustnessEvaluation, type ShardResult } from './robustness-evaluation';
import { trainTinyMlp, type TrainedMlp } from './trained-mlp.fixture';

const quickParams = {
  pgd: { steps: 5, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
  apgd: { steps: 5, restarts: 1 },
  apgdTargeted: { steps: 5, targetClasses: 2 },
  square: { queries: 20, pInit: 0.8 },
};

const EXAMPLES = 40;
const BATCH = 8;
/** A fixed shard size: two batches, so the 40 examples make shards of 16, 16 and a partial 8. */
const SHARD = 16;
const ranges = [0, 16, 32].map((start) => ({ start, size: Math.min(SHARD, EXAMPLES - start) }));

/** A deep copy with every `seconds` zeroed: wall-clock time is the one thing allowed to differ. */
function withoutSeconds<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutSeconds) as T;
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'seconds' ? 0 : withoutSeconds(v)])) as T;
}

describe('evaluateShard and mergeShards', () => {
  let trained: TrainedMlp;
  let options: EvaluateRobustnessOptions;
  let single: RobustnessEvaluation;
  let shards: ShardResult[];

  beforeAll(async () => {
    trained = await trainTinyMlp();
    const dataset: Dataset = takeExamples(
      trained.test,
      Uint32Array.from({ length: EXAMPLES }, (_, i) => i),
      `digits/test[0:${EXAMPLES}]`,
    );
    options = {
      model: asLogitsModel(trained.model),
      dataset,
      // Below 0.5, so the shard at example 0 also runs the large-ε probe.
      epsilons: [0.3, 0, 0.03, 0.1],
      norm: 'linf',
      attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
      params: quickParams,
      seed: 11,
      // More than a shard holds: the gallery of a broken ε spans shards and is cut inside one.
      galleryPerEpsilon: 20,
      batchSize: BATCH,
    };
    single = await evaluateRobustness(options);
    shards = [];
    for (const shard of ranges) shards.push(await evaluateShard({ ...options, shard }));
  }, 120_000);

  afterAll(() => trained?.model.dispose());

  it('merged in order, shards of a fixed size equal the single pass bit for bit (after a JSON round trip)', () => {
    const merged = mergeShards(JSON.parse(JSON.stringify(shards)) as ShardResult[], { n: EXAMPLES, norm: 'linf', galleryPerEpsilon: 20 });
    expect(withoutSeconds(merged)).toStrictEqual(withoutSeconds(single));
    // The comparison covers real work: attacks broke examples, galleries mix broken and unbroken, flags were computed.
    const suite = (epsilon: number) => single.points.find((p) => p.epsilon === epsilon)!.outcomes.find((o) => o.attack === 'suite')!;
    expect(suite(0.3).robustCorrect).toBeLessThan(suite(0).robustCorrect);
    expect(single.points.map((p) => p.gallery.length)).toEqual([20, 20, 20, 20]);
    expect(single.points.some((p) => p.gallery.some((g) => g.attack !== null) && p.gallery.some((g) => g.attack === null))).toBe(true);
    expect(single.flags.map((f) => f.flag)).toContain('not-broken-at-large-epsilon');
  });

  it('a shard is the same computed alone, after other shards, or as part of a larger range', async () => {
    const reversed: ShardResult[] = [];
    for (const shard of [...ranges].reverse()) reversed.unshift(await evaluateShard({ ...options, shard }));
    expect(withoutSeconds(reversed)).toStrictEqual(withoutSeconds(shards));

    const whole = await evaluateShard({ ...options, shard: { start: 0, size: EXAMPLES } });
    for (const shard of shards) {
      const slice = (xs: readonly unknown[]) => xs.slice(shard.start, shard.start + shard.size);
      expect(shard.cleanPredictions).toEqual(slice(whole.cleanPredictions));
      expect(shard.labels).toEqual(slice(whole.labels));
      shard.points.forEach((point, i) => {
        expect(point.attacks.map((a) => a.broken)).toEqual(whole.points[i].attacks.map((a) => slice(a.broken)));
      });
    }
    expect(shards.map((s) => s.checks !== null)).toEqual([true, false, false]);
    expect(shards[0].checks).toStrictEqual(whole.checks);
  }, 120_000);

  it('refuses shards off the batch grid, and merges that miss or repeat examples', async () => {
    await expect(evaluateShard({ ...options, shard: { start: 4, size: 16 } })).rejects.toThrow(/not aligned/);
    await expect(evaluateShard({ ...options, shard: { start: 0, size: 12 } })).rejects.toThrow(/not aligned/);
    expect(() => mergeShards([shards[0], shards[2]], { n: EXAMPLES, norm: 'linf', galleryPerEpsilon: 20 })).toThrow(/starts at example 32/);
    expect(() => mergeShards(shards.slice(0, 2), { n: EXAMPLES, norm: 'linf', galleryPerEpsilon: 20 })).toThrow(/cover 32 of 40/);
    expect(() => mergeShards(shards.slice(1), { n: EXAMPLES, norm: 'linf', galleryPerEpsilon: 20 })).toThrow(/starts at example 16/);
  });
});
