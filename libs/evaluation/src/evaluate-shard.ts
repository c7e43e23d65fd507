import * as tf from '@tensorflow/tfjs';
import {
  AttackResult,
  LogitsModel,
  SuiteStageName,
  ValidityFlag,
  fgsm,
  gradientHealth,
  pgd,
  predictLabels,
  readAllAndDispose,
  standardSuite,
  stochasticForwardPass,
} from '@bulwark/attacks';
import { makeBatch, type Dataset } from '@bulwark/data';
import { EVALUATION_ATTACKS, type EvaluationAttackName } from '@bulwark/spec';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';
import { mapEntry } from './map-entry';
import {
  SUITE_STAGES,
  type EvaluateRobustnessOptions,
  type GalleryExample,
  type EvaluationFlag,
  type ShardRange,
  type EvaluateShardOptions,
  type ShardGalleryExample,
  type ShardResult,
  type Breaks,
  LARGE_EPSILON,
  PROBE_EXAMPLES,
} from './robustness-evaluation';

/**
 * Per-example results on `options.shard`'s examples: every ε, every attack, on the batches and
 * batch seeds (`seed` + index of the batch's first example) the single pass uses for them.
 */
export async function evaluateShard(options: EvaluateShardOptions): Promise<ShardResult> {
  return runShard(options);
}

/** Evaluates one shard; `onEpsilon` is awaited after each ε with the results so far. */
export async function runShard(options: EvaluateShardOptions, onEpsilon?: (sofar: ShardResult) => void | Promise<void>): Promise<ShardResult> {
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
    checks: start === 0 ? { flags: await modelFlags(model, dataset), probe: null } : null,
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

/** Which of the first PROBE_EXAMPLES examples PGD at LARGE_EPSILON breaks. */
async function largeEpsilonProbe(options: EvaluateRobustnessOptions, batchSize: number): Promise<{ epsilon: number; broken: boolean[] }> {
  const { model, dataset, params, seed } = options;
  const count = Math.min(PROBE_EXAMPLES, dataset.size);
  const broken: boolean[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const indices = Uint32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
    const { x, y } = makeBatch(dataset, indices);
    const result = await pgd({
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
          ? await fgsm({ model, inputs: x, labels: y, epsilon, norm })
          : await pgd({
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
      const suite = await standardSuite({
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
  const [values, predicted] = await readAllAndDispose([pixels, predictions]);
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

/** Flags about the model itself, on the first examples: gradients that are zero or NaN, and randomness. */
export async function modelFlags(model: LogitsModel, dataset: Dataset): Promise<EvaluationFlag[]> {
  const sample = Uint32Array.from({ length: Math.min(64, dataset.size) }, (_, i) => i);
  const { x, y } = makeBatch(dataset, sample);
  try {
    return [asFlag(await gradientHealth({ model, inputs: x, labels: y })), await stochasticForwardPass({ model, inputs: x })];
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
export function asFlag({ flag, raised, examples, detail }: ValidityFlag): ValidityFlag {
  return { flag, raised, examples, detail };
}
