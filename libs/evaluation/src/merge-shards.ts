import { PerturbationNorm, blackBoxBeatWhiteBox, iterativeWeakerThanSingleStep, notBrokenAtLargeEpsilon, robustnessRoseWithEpsilon } from '@bulwark/attacks';
import { type EvaluationAttackName } from '@bulwark/spec';
import { mapEntry } from './map-entry';
import {
  SUITE_STAGES,
  type AttackOutcome,
  type GalleryExample,
  type EpsilonOutcome,
  type EvaluationFlag,
  type RobustnessEvaluation,
  type ShardEpsilonResult,
  type ShardModelChecks,
  type ShardResult,
  type Breaks,
  LARGE_EPSILON,
  count,
  sum,
} from './robustness-evaluation';

export interface MergeShardsOptions {
  /** Examples in the whole evaluation: the shards must cover [0, n) in order. */
  n: number;
  norm: PerturbationNorm;
  galleryPerEpsilon: number;
}

/** Folds shards (in order, covering every example) into the evaluation a single pass returns. */
export function mergeShards(shards: readonly ShardResult[], { n, norm, galleryPerEpsilon }: MergeShardsOptions): RobustnessEvaluation {
  let next = 0;
  for (const shard of shards) {
    if (shard.stopped) throw new Error(`the shard at example ${shard.start} stopped before it finished`);
    if (shard.start !== next) throw new Error(`a shard starts at example ${shard.start} where ${next} was expected`);
    next += shard.size;
  }
  if (next !== n) throw new Error(`the shards cover ${next} of ${n} examples`);
  if (shards.some((s) => s.points.length !== shards[0].points.length)) throw new Error('the shards measured different numbers of ε');
  const merged = mergeMeasured(shards, galleryPerEpsilon);
  return { n, points: merged.points, flags: [...merged.flags, ...curveFlags(merged, norm)], stopped: false };
}

interface MergedMeasurements {
  n: number;
  cleanCorrect: boolean[];
  points: EpsilonOutcome[];
  /** The model checks' flags, then each ε's. */
  flags: EvaluationFlag[];
  probe: ShardModelChecks['probe'];
}

export function mergeMeasured(shards: readonly ShardResult[], galleryPerEpsilon: number): MergedMeasurements {
  const checks = shards[0]?.checks;
  if (!checks) throw new Error('no shard starting at example 0 (with the model checks)');
  const labels = shards.flatMap((s) => s.labels);
  const cleanCorrect = shards.flatMap((s) => s.cleanPredictions).map((p, i) => p === labels[i]);
  const flags = [...checks.flags];
  const points: EpsilonOutcome[] = [];
  for (let index = 0; index < Math.min(...shards.map((s) => s.points.length)); index += 1) {
    const merged = mergePoint(shards, index, cleanCorrect, galleryPerEpsilon);
    points.push(merged.point);
    flags.push(...merged.flags);
  }
  return { n: labels.length, cleanCorrect, points, flags, probe: checks.probe };
}

export function mergePoint(
  shards: readonly ShardResult[],
  index: number,
  cleanCorrect: boolean[],
  galleryPerEpsilon: number,
): { point: EpsilonOutcome; flags: EvaluationFlag[] } {
  const parts = shards.map((s) => s.points[index]);
  const { epsilon } = parts[0];
  const attacks = parts[0].attacks.map((a) => a.attack);
  if (parts.some((p) => p.epsilon !== epsilon || p.attacks.some((a, j) => a.attack !== attacks[j]))) {
    throw new Error(`the shards disagree on the ε or attacks of point ${index}`);
  }
  const breaks = new Map<EvaluationAttackName, Breaks>(
    attacks.map((attack, j) => [
      attack,
      {
        broken: parts.flatMap((p) => p.attacks[j].broken),
        seconds: sum(parts.map((p) => p.attacks[j].seconds)),
        // Later batches' stage parameters override earlier ones', as in one pass over the batches.
        details: parts.reduce<Record<string, unknown>>((acc, p) => ({ ...acc, ...p.attacks[j].details }), {}),
      },
    ]),
  );
  const n = cleanCorrect.length;
  const cleanCount = count(cleanCorrect);
  const outcomes: AttackOutcome[] = attacks.map((attack) => {
    const b = mapEntry(breaks, attack);
    // A suite stage ran only on what the earlier stages left robust: its row is cumulative.
    const cumulative = SUITE_STAGES.includes(attack) ? SUITE_STAGES.slice(0, SUITE_STAGES.indexOf(attack) + 1).filter((s) => breaks.has(s)) : [attack];
    const robust = cleanCorrect.map((c, i) => c && cumulative.every((s) => !mapEntry(breaks, s).broken[i]));
    return { attack, n, cleanCorrect: cleanCount, robustCorrect: count(robust), seconds: b.seconds, details: b.details };
  });
  const worst = cleanCorrect.map((c, i) => c && attacks.every((a) => !mapEntry(breaks, a).broken[i]));
  outcomes.push({
    attack: 'suite',
    n,
    cleanCorrect: cleanCount,
    robustCorrect: count(worst),
    seconds: sum(attacks.map((a) => mapEntry(breaks, a).seconds)),
    details: { attacks, perExample: 'correct on the clean input and on the worst adversarial input any attack found' },
  });
  const flags = epsilon > 0 ? perEpsilonFlags(epsilon, breaks, cleanCorrect) : [];
  return { point: { epsilon, outcomes, gallery: mergeGallery(parts, galleryPerEpsilon) }, flags };
}

/** The first broken examples as the single pass meets them, topped up with the first unbroken ones. */
function mergeGallery(parts: readonly ShardEpsilonResult[], limit: number): GalleryExample[] {
  const candidates = parts.flatMap((p) => p.gallery);
  const broken = candidates.filter((e) => e.attack !== null).slice(0, limit);
  const unbroken = candidates.filter((e) => e.attack === null).slice(0, Math.max(0, limit - broken.length));
  return [...broken, ...unbroken]
    .map((e) => ({ ...e, clean: Uint8Array.from(e.clean), adversarial: Uint8Array.from(e.adversarial) }))
    .sort((a, b) => a.exampleIndex - b.exampleIndex);
}

/** Flags about the whole curve: robustness that rises with ε, and a model the attacks cannot break at a large ε. */
function curveFlags({ n, points, cleanCorrect, probe }: MergedMeasurements, norm: PerturbationNorm): EvaluationFlag[] {
  const curve = points.map((p) => ({ epsilon: p.epsilon, robustAccuracy: suiteOutcome(p).robustCorrect / n }));
  const flags: EvaluationFlag[] = [robustnessRoseWithEpsilon({ curve })];
  if (norm === 'linf') {
    // The curve may stop short of a radius at which every classifier falls; then a PGD probe
    // at LARGE_EPSILON on a few examples checks that the attacks can still break the model.
    if (!probe && !curve.some((p) => p.epsilon >= LARGE_EPSILON)) throw new Error(`the curve stops short of ε = ${LARGE_EPSILON} and no shard probed it`);
    const probed = probe
      ? [
          {
            epsilon: probe.epsilon,
            robustAccuracy: count(probe.broken.map((b, i) => !b && cleanCorrect[i])) / probe.broken.length,
            n: probe.broken.length,
          },
        ]
      : [];
    const flag = notBrokenAtLargeEpsilon({ curve: [...curve, ...probed], largeEpsilon: LARGE_EPSILON });
    flags.push(
      probed.length
        ? {
            ...flag,
            examples: [],
            detail: `PGD probe at ε = ${LARGE_EPSILON} on ${probed[0].n} examples: robust accuracy ${probed[0].robustAccuracy.toFixed(3)} (${flag.detail})`,
          }
        : flag,
    );
  }
  return flags;
}

export function suiteOutcome(point: EpsilonOutcome): AttackOutcome {
  const outcome = point.outcomes.find((o) => o.attack === 'suite');
  if (outcome === undefined) throw new Error(`no suite outcome at ε = ${point.epsilon}`);
  return outcome;
}

function perEpsilonFlags(epsilon: number, breaks: Map<EvaluationAttackName, Breaks>, cleanCorrect: boolean[]): EvaluationFlag[] {
  const flags: EvaluationFlag[] = [];
  // Judged on examples that are correct when clean: elsewhere "success" is free.
  const onCorrect = (s: boolean[]) => s.map((v, i) => v && cleanCorrect[i]);
  const single = breaks.get('fgsm');
  for (const iterative of ['pgd', 'apgd-ce'] as const) {
    const b = breaks.get(iterative);
    if (!single || !b) continue;
    const flag = iterativeWeakerThanSingleStep({ singleStep: onCorrect(single.broken), iterative: onCorrect(b.broken) });
    flags.push({ ...flag, epsilon, detail: `${iterative} vs fgsm: ${flag.detail}` });
  }
  const blackBox = breaks.get('square');
  const whiteBox = (['fgsm', 'pgd', 'apgd-ce', 'apgd-t'] as const).filter((a) => breaks.has(a)).map((a) => onCorrect(mapEntry(breaks, a).broken));
  if (blackBox && whiteBox.length) flags.push({ ...blackBoxBeatWhiteBox({ blackBox: onCorrect(blackBox.broken), whiteBox }), epsilon });
  return flags;
}
