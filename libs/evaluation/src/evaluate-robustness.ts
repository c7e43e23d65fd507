import * as tf from '@tensorflow/tfjs';
import {
  AttackResult,
  LogitsModel,
  PerturbationNorm,
  STANDARD_SUITE_STAGES,
  SuiteStageName,
  ValidityFlag,
  blackBoxBeatWhiteBox,
  fgsm,
  gradientHealth,
  iterativeWeakerThanSingleStep,
  notBrokenAtLargeEpsilon,
  pgd,
  predictLabels,
  robustnessRoseWithEpsilon,
  standardSuite,
  stochasticForwardPass,
} from '@bulwark/attacks';
import { makeBatch, type Dataset } from '@bulwark/data';
import { EVALUATION_ATTACKS, type EvaluationAttackName, type EvaluationAttackParams } from '@bulwark/spec';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';
import { mapEntry } from './map-entry';

/** The AutoAttack-style stages: each attacks only what the previous ones left robust. */
const SUITE_STAGES: readonly EvaluationAttackName[] = STANDARD_SUITE_STAGES;

export interface EvaluateRobustnessOptions {
  model: LogitsModel;
  /** The examples to evaluate (a fixed, seeded subset of a test split). */
  dataset: Dataset;
  epsilons: number[];
  norm: PerturbationNorm;
  attacks: readonly EvaluationAttackName[];
  params: EvaluationAttackParams;
  seed: number;
  /** Adversarial examples kept per ε for a gallery. */
  galleryPerEpsilon: number;
  batchSize?: number;
  onProgress?: (fraction: number) => void | Promise<void>;
  /** Awaited after each ε is measured, before the next starts: the place to store it. */
  onPoint?: (point: EpsilonOutcome) => void | Promise<void>;
  /** Checked between batches; true stops the evaluation (`stopped: true`). */
  shouldStop?: () => boolean | Promise<boolean>;
}

export interface AttackOutcome {
  /** An attack name, or 'suite': the per-example worst case over every attack run. */
  attack: EvaluationAttackName | 'suite';
  n: number;
  cleanCorrect: number;
  /** Correct on the clean input and on this attack's adversarial input. */
  robustCorrect: number;
  seconds: number;
  /** Hyperparameters as run, and for the suite stages that they attacked only the examples still robust. */
  details: Record<string, unknown>;
}

export interface GalleryExample {
  exampleIndex: number;
  /** The attack whose input is kept (the first that broke the example), or null if none did. */
  attack: EvaluationAttackName | null;
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  shape: [number, number, number];
  /** Pixels as uint8 (x·255 rounded): for display, not for re-verification. */
  clean: Uint8Array;
  adversarial: Uint8Array;
  linfNorm: number;
  l2Norm: number;
}

export interface EpsilonOutcome {
  epsilon: number;
  outcomes: AttackOutcome[];
  gallery: GalleryExample[];
}

export type EvaluationFlag = ValidityFlag & { epsilon?: number };

export interface RobustnessEvaluation {
  n: number;
  points: EpsilonOutcome[];
  flags: EvaluationFlag[];
  stopped: boolean;
}

/** A contiguous range of the dataset's examples, aligned to the batch size. */
export interface ShardRange {
  /** Index of the first example: a multiple of the batch size. */
  start: number;
  /** A multiple of the batch size, except for the shard that ends the dataset. */
  size: number;
}

export interface EvaluateShardOptions extends Omit<EvaluateRobustnessOptions, 'onPoint'> {
  shard: ShardRange;
}

/** One attack at one ε on a shard's examples. */
export interface ShardAttackResult {
  attack: EvaluationAttackName;
  /** Per example of the shard, in order: the attack broke it (valid perturbation, misclassified). */
  broken: boolean[];
  seconds: number;
  details: Record<string, unknown>;
}

/** A gallery example as plain data: pixels as arrays of uint8 values. */
export interface ShardGalleryExample extends Omit<GalleryExample, 'clean' | 'adversarial'> {
  clean: number[];
  adversarial: number[];
}

export interface ShardEpsilonResult {
  epsilon: number;
  attacks: ShardAttackResult[];
  /**
   * Gallery candidates: first the broken examples in the order the evaluation meets them (batch,
   * then attack, then example), at most galleryPerEpsilon; then unbroken examples by index (attack
   * null) up to galleryPerEpsilon in all. The single pass keeps a prefix of the broken ones over
   * the shards in order and tops up with a prefix of the unbroken ones, so these suffice.
   */
  gallery: ShardGalleryExample[];
}

/**
 * Checks of the model itself, on the first examples of the dataset. The shard that starts at
 * example 0 runs them (and only it), so a distributed evaluation needs no extra job and the
 * parent merging the shards needs no model.
 */
export interface ShardModelChecks {
  /** Zero/NaN gradients and a stochastic forward pass, on the first 64 examples. */
  flags: EvaluationFlag[];
  /** PGD at LARGE_EPSILON on the first examples, per example: broken. Null unless the norm is L∞ and no ε reaches LARGE_EPSILON. */
  probe: { epsilon: number; broken: boolean[] } | null;
}

/** Per-example results of one shard: plain JSON-serialisable data that depends on no other shard. */
export interface ShardResult {
  start: number;
  size: number;
  /** Per example of the shard, in order. */
  labels: number[];
  cleanPredictions: number[];
  /** Per ε, ascending. A stopped shard holds the ε it measured before it stopped. */
  points: ShardEpsilonResult[];
  /** Present exactly on the shard that starts at example 0. */
  checks: ShardModelChecks | null;
  stopped: boolean;
}

export interface MergeShardsOptions {
  /** Examples in the whole evaluation: the shards must cover [0, n) in order. */
  n: number;
  norm: PerturbationNorm;
  galleryPerEpsilon: number;
}

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

/**
 * Per-example results on `options.shard`'s examples: every ε, every attack, on the batches and
 * batch seeds (`seed` + index of the batch's first example) the single pass uses for them.
 */
export async function evaluateShard(options: EvaluateShardOptions): Promise<ShardResult> {
  return runShard(options);
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

function mergeMeasured(shards: readonly ShardResult[], galleryPerEpsilon: number): MergedMeasurements {
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

function mergePoint(
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

type Breaks = Omit<ShardAttackResult, 'attack'>;

/** Evaluates one shard; `onEpsilon` is awaited after each ε with the results so far. */
async function runShard(options: EvaluateShardOptions, onEpsilon?: (sofar: ShardResult) => void | Promise<void>): Promise<ShardResult> {
  const { model, dataset, norm } = options;
  const batchSize = options.batchSize ?? 256;
  const { start, size } = checkedRange(options.shard, dataset.size, batchSize);
  const epsilons = [...options.epsilons].sort((a, b) => a - b);
  const attacks = EVALUATION_ATTACKS.filter((a) => options.attacks.includes(a));
  const batches = rangeBatches(start, size, batchSize);
  const labels = Array.from(dataset.labels.subarray(start, start + size));
  const cleanPredictions = await predictAll(model, dataset, batches);
  const shard: ShardResult = {
    start,
    size,
    labels,
    cleanPredictions,
    points: [],
    checks: start === 0 ? { flags: modelFlags(model, dataset), probe: null } : null,
    stopped: false,
  };
  const totalWork = epsilons.length * batches.length;
  let done = 0;

  for (const epsilon of epsilons) {
    const breaks = new Map<EvaluationAttackName, Breaks>(
      attacks.map((a) => [a, { broken: new Array<boolean>(size).fill(false), seconds: 0, details: attackDetails(a, epsilon, options) }]),
    );
    const gallery = new Map<number, GalleryExample>();
    for (const indices of batches) {
      if (await options.shouldStop?.()) return { ...shard, stopped: true };
      if (epsilon > 0) await attackBatch({ options, epsilon, attacks, indices, start, breaks, gallery, cleanPredictions });
      done += 1;
      await options.onProgress?.(done / totalWork);
      await yieldToEventLoop();
    }
    shard.points.push({
      epsilon,
      attacks: attacks.map((attack) => ({ attack, ...mapEntry(breaks, attack) })),
      gallery: shardGallery(dataset, gallery, options.galleryPerEpsilon, start, size, cleanPredictions),
    });
    await onEpsilon?.(shard);
  }

  if (shard.checks && norm === 'linf' && !epsilons.some((e) => e >= LARGE_EPSILON)) shard.checks.probe = await largeEpsilonProbe(options, batchSize);
  return shard;
}

/** The range, if its batches are exactly the single pass's batches over those examples. */
function checkedRange({ start, size }: ShardRange, total: number, batchSize: number): ShardRange {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const end = start + size;
  if (!Number.isInteger(start) || !Number.isInteger(size) || start < 0 || (size < 1 && total > 0) || end > total) {
    throw new Error(`shard [${start}, ${end}) is not a non-empty range of the ${total} examples`);
  }
  // Batch seeds are seed + the batch's first index: a shard off the batch grid would attack different batches.
  if (start % batchSize !== 0 || (size % batchSize !== 0 && end !== total))
    throw new Error(`shard [${start}, ${end}) is not aligned to batches of ${batchSize}`);
  return { start, size };
}

function rangeBatches(start: number, size: number, batchSize: number): Uint32Array[] {
  const batches: Uint32Array[] = [];
  for (let first = start; first < start + size; first += batchSize) {
    batches.push(Uint32Array.from({ length: Math.min(batchSize, start + size - first) }, (_, i) => first + i));
  }
  return batches;
}

function shardGallery(
  dataset: Dataset,
  gallery: Map<number, GalleryExample>,
  limit: number,
  start: number,
  size: number,
  cleanPredictions: number[],
): ShardGalleryExample[] {
  const entries = [...gallery.values()];
  const pixels = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
  for (let index = start; entries.length < limit && index < start + size; index += 1) {
    if (gallery.has(index)) continue;
    const clean = Float32Array.from(dataset.images.subarray(index * pixels, (index + 1) * pixels), (v) => v / 255);
    const prediction = cleanPredictions[index - start];
    entries.push(galleryEntry(dataset, index, null, clean, prediction, prediction, null, 0));
  }
  return entries.map((e) => ({ ...e, clean: Array.from(e.clean), adversarial: Array.from(e.adversarial) }));
}

function suiteOutcome(point: EpsilonOutcome): AttackOutcome {
  const outcome = point.outcomes.find((o) => o.attack === 'suite');
  if (outcome === undefined) throw new Error(`no suite outcome at ε = ${point.epsilon}`);
  return outcome;
}

const LARGE_EPSILON = 0.5;
const PROBE_EXAMPLES = 100;

/** Which of the first PROBE_EXAMPLES examples PGD at LARGE_EPSILON breaks. */
async function largeEpsilonProbe(options: EvaluateRobustnessOptions, batchSize: number): Promise<{ epsilon: number; broken: boolean[] }> {
  const { model, dataset, params, seed } = options;
  const count = Math.min(PROBE_EXAMPLES, dataset.size);
  const broken: boolean[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const indices = Uint32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
    const { x, y } = makeBatch(dataset, indices);
    const result = pgd({
      model,
      inputs: x,
      labels: y,
      epsilon: LARGE_EPSILON,
      norm: 'linf',
      steps: params.pgd.steps,
      stepSize: (params.pgd.stepSizeFactor * LARGE_EPSILON) / params.pgd.steps,
      randomStart: true,
      seed,
    });
    broken.push(...result.success);
    tf.dispose([x, y, result.adversarial]);
    await yieldToEventLoop();
  }
  return { epsilon: LARGE_EPSILON, broken };
}

interface AttackBatchArgs {
  options: EvaluateRobustnessOptions;
  epsilon: number;
  attacks: EvaluationAttackName[];
  indices: Uint32Array;
  /** The shard's first example: `breaks` and `cleanPredictions` are indexed from it. */
  start: number;
  breaks: Map<EvaluationAttackName, Breaks>;
  gallery: Map<number, GalleryExample>;
  cleanPredictions: number[];
}

async function attackBatch({ options, epsilon, attacks, indices, start, breaks, gallery, cleanPredictions }: AttackBatchArgs): Promise<void> {
  const { model, dataset, norm, params, seed } = options;
  const { x, y } = makeBatch(dataset, indices);
  // Each batch gets its own seed so the random starts do not repeat from batch to batch.
  const batchSeed = seed + indices[0];
  try {
    /** Records which examples of the batch `attack` broke (in `result`'s adversarial inputs) and keeps some for the gallery. */
    const take = async (attack: EvaluationAttackName, result: AttackResult, broken: boolean[], seconds: number) => {
      const b = mapEntry(breaks, attack);
      b.seconds += seconds;
      broken.forEach((isBroken, k) => {
        if (isBroken) b.broken[indices[k] - start] = true;
      });
      await collectGallery({ dataset, indices, result, attack, broken, gallery, limit: options.galleryPerEpsilon, start, cleanPredictions, model });
    };

    for (const attack of attacks.filter((a) => !SUITE_STAGES.includes(a))) {
      const started = performance.now();
      const result =
        attack === 'fgsm'
          ? fgsm({ model, inputs: x, labels: y, epsilon, norm })
          : pgd({
              model,
              inputs: x,
              labels: y,
              epsilon,
              norm,
              steps: params.pgd.steps,
              stepSize: (params.pgd.stepSizeFactor * epsilon) / params.pgd.steps,
              restarts: params.pgd.restarts,
              loss: params.pgd.loss,
              randomStart: true,
              seed: batchSeed,
            });
      try {
        await take(attack, result, result.success, (performance.now() - started) / 1000);
      } finally {
        result.adversarial.dispose();
      }
    }

    const stages = SUITE_STAGES.filter((s) => attacks.includes(s)) as SuiteStageName[];
    if (stages.length) {
      const suite = standardSuite({
        model,
        inputs: x,
        labels: y,
        epsilon,
        norm,
        seed: batchSeed,
        stages,
        apgdSteps: params.apgd.steps,
        apgdRestarts: params.apgd.restarts,
        targetClasses: params.apgdTargeted.targetClasses,
        squareQueries: params.square.queries,
      });
      try {
        for (const report of suite.stages) {
          const stage = report.name as EvaluationAttackName;
          // The suite's adversarial input of an example is the one of the stage that broke it.
          await take(
            stage,
            suite,
            suite.brokenBy.map((by) => by === stage),
            report.durationMs / 1000,
          );
          const entry = mapEntry(breaks, stage);
          entry.details = { ...entry.details, ...report.params, ...(report.skipped && { skipped: report.skipped }) };
        }
      } finally {
        suite.adversarial.dispose();
      }
    }
  } finally {
    tf.dispose([x, y]);
  }
}

interface CollectGalleryArgs {
  dataset: Dataset;
  indices: Uint32Array;
  result: AttackResult;
  attack: EvaluationAttackName;
  /** Per example of the batch: this attack broke it. */
  broken: boolean[];
  gallery: Map<number, GalleryExample>;
  limit: number;
  start: number;
  cleanPredictions: number[];
  model: LogitsModel;
}

/** Keeps the first broken examples of the ε, with the input of the first attack that broke them. */
async function collectGallery({ dataset, indices, result, attack, broken, gallery, limit, start, cleanPredictions, model }: CollectGalleryArgs): Promise<void> {
  const picks: number[] = [];
  broken.forEach((isBroken, k) => {
    if (isBroken && gallery.size + picks.length < limit && !gallery.has(indices[k])) picks.push(k);
  });
  if (!picks.length) return;
  const [pixels, predictions] = tf.tidy(() => {
    const chosen = tf.gather(result.adversarial, picks);
    return [chosen, predictLabels({ model, inputs: chosen })];
  });
  const values = await pixels.data();
  const predicted = await predictions.data();
  tf.dispose([pixels, predictions]);
  const size = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
  picks.forEach((k, j) => {
    const index = indices[k];
    const adversarial = Float32Array.from(values.subarray(j * size, (j + 1) * size));
    gallery.set(index, galleryEntry(dataset, index, attack, adversarial, cleanPredictions[index - start], predicted[j], result, k));
  });
}

function galleryEntry(
  dataset: Dataset,
  index: number,
  attack: EvaluationAttackName | null,
  adversarial: Float32Array,
  cleanPrediction: number,
  adversarialPrediction: number,
  result: AttackResult | null,
  k: number,
): GalleryExample {
  const size = adversarial.length;
  const clean = dataset.images.slice(index * size, (index + 1) * size);
  return {
    exampleIndex: index,
    attack,
    label: dataset.labels[index],
    cleanPrediction,
    adversarialPrediction,
    shape: [...dataset.shape] as [number, number, number],
    clean,
    adversarial: Uint8Array.from(adversarial, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
    linfNorm: result ? result.linfNorms[k] : 0,
    l2Norm: result ? result.l2Norms[k] : 0,
  };
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

/** Flags about the model itself, on the first examples: gradients that are zero or NaN, and randomness. */
function modelFlags(model: LogitsModel, dataset: Dataset): EvaluationFlag[] {
  const sample = Uint32Array.from({ length: Math.min(64, dataset.size) }, (_, i) => i);
  const { x, y } = makeBatch(dataset, sample);
  try {
    return [asFlag(gradientHealth({ model, inputs: x, labels: y })), stochasticForwardPass({ model, inputs: x })];
  } finally {
    tf.dispose([x, y]);
  }
}

async function predictAll(model: LogitsModel, dataset: Dataset, batches: readonly Uint32Array[]): Promise<number[]> {
  const predictions: number[] = [];
  for (const indices of batches) {
    const { x, y } = makeBatch(dataset, indices);
    const predicted = predictLabels({ model, inputs: x });
    predictions.push(...(await predicted.data()));
    tf.dispose([x, y, predicted]);
  }
  return predictions;
}

function attackDetails(attack: EvaluationAttackName, epsilon: number, { norm, params, seed }: EvaluateRobustnessOptions): Record<string, unknown> {
  const base = { norm, epsilon, seed };
  switch (attack) {
    case 'fgsm':
      return { ...base, loss: 'ce', steps: 1 };
    case 'pgd':
      return { ...base, ...params.pgd, stepSize: (params.pgd.stepSizeFactor * epsilon) / params.pgd.steps, randomStart: true };
    case 'apgd-ce':
      return { ...base, loss: 'ce', ...params.apgd, attacked: 'clean-correct examples' };
    case 'apgd-t':
      return { ...base, loss: 'dlr-targeted', ...params.apgdTargeted, attacked: 'examples still robust after the earlier suite stages' };
    case 'square':
      return { ...base, loss: 'margin', ...params.square, attacked: 'examples still robust after the earlier suite stages' };
  }
}

/** Just the flag, without a check's per-example extras (they are large and already summarised). */
function asFlag({ flag, raised, examples, detail }: ValidityFlag): ValidityFlag {
  return { flag, raised, examples, detail };
}

const count = (xs: boolean[]) => xs.filter(Boolean).length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
