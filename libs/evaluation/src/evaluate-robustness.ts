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
import { makeBatch, sequentialBatches, type Dataset } from '@bulwark/data';
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

interface Breaks {
  /** Per example, over the whole dataset: the attack broke it (valid perturbation, misclassified). */
  success: boolean[];
  seconds: number;
  details: Record<string, unknown>;
}

/**
 * Clean and robust accuracy of `model` on `dataset` at every ε, per attack and for the
 * per-example worst case over all of them, with the validity checks of Carlini et al. (2019)
 * computed from the results. Each attack's own result is re-verified by the attack library
 * (‖δ‖ ≤ ε within 1e-5, inside [0,1]) before it counts.
 */
export async function evaluateRobustness(options: EvaluateRobustnessOptions): Promise<RobustnessEvaluation> {
  const { model, dataset, norm } = options;
  const batchSize = options.batchSize ?? 256;
  const epsilons = [...options.epsilons].sort((a, b) => a - b);
  const attacks = EVALUATION_ATTACKS.filter((a) => options.attacks.includes(a));
  const n = dataset.size;
  const labels = Array.from(dataset.labels);
  const cleanPredictions = await predictAll(model, dataset, batchSize);
  const cleanCorrect = cleanPredictions.map((p, i) => p === labels[i]);
  const cleanCount = count(cleanCorrect);

  const flags: EvaluationFlag[] = modelFlags(model, dataset);
  const points: EpsilonOutcome[] = [];
  const batches = [...sequentialBatches(dataset, batchSize)];
  const totalWork = epsilons.length * batches.length;
  let done = 0;

  for (const epsilon of epsilons) {
    const breaks = new Map<EvaluationAttackName, Breaks>(
      attacks.map((a) => [a, { success: new Array<boolean>(n).fill(false), seconds: 0, details: attackDetails(a, epsilon, options) }]),
    );
    const gallery = new Map<number, GalleryExample>();
    for (const { indices } of batches) {
      if (await options.shouldStop?.()) return { n, points, flags, stopped: true };
      if (epsilon > 0) await attackBatch({ options, epsilon, attacks, indices, breaks, gallery, cleanPredictions });
      done += 1;
      await options.onProgress?.(done / totalWork);
      await yieldToEventLoop();
    }

    const outcomes: AttackOutcome[] = attacks.map((attack) => {
      const b = mapEntry(breaks, attack);
      // A suite stage ran only on what the earlier stages left robust: its row is cumulative.
      const cumulative = SUITE_STAGES.includes(attack) ? SUITE_STAGES.slice(0, SUITE_STAGES.indexOf(attack) + 1).filter((s) => breaks.has(s)) : [attack];
      const robust = cleanCorrect.map((c, i) => c && cumulative.every((s) => !mapEntry(breaks, s).success[i]));
      return { attack, n, cleanCorrect: cleanCount, robustCorrect: count(robust), seconds: b.seconds, details: b.details };
    });
    const worst = cleanCorrect.map((c, i) => c && attacks.every((a) => !mapEntry(breaks, a).success[i]));
    outcomes.push({
      attack: 'suite',
      n,
      cleanCorrect: cleanCount,
      robustCorrect: count(worst),
      seconds: sum(attacks.map((a) => mapEntry(breaks, a).seconds)),
      details: { attacks, perExample: 'correct on the clean input and on the worst adversarial input any attack found' },
    });
    if (epsilon > 0) flags.push(...perEpsilonFlags(epsilon, breaks, cleanCorrect));
    const point = { epsilon, outcomes, gallery: fillGallery(dataset, gallery, options.galleryPerEpsilon, cleanPredictions) };
    points.push(point);
    await options.onPoint?.(point);
  }

  const curve = points.map((p) => ({ epsilon: p.epsilon, robustAccuracy: suiteOutcome(p).robustCorrect / n }));
  flags.push(robustnessRoseWithEpsilon({ curve }));
  if (norm === 'linf') {
    // The curve may stop short of a radius at which every classifier falls; then a PGD probe
    // at LARGE_EPSILON on a few examples checks that the attacks can still break the model.
    const probe = curve.some((p) => p.epsilon >= LARGE_EPSILON) ? [] : [await largeEpsilonProbe(options, cleanCorrect, batchSize)];
    const flag = notBrokenAtLargeEpsilon({ curve: [...curve, ...probe], largeEpsilon: LARGE_EPSILON });
    flags.push(
      probe.length
        ? {
            ...flag,
            examples: [],
            detail: `PGD probe at ε = ${LARGE_EPSILON} on ${probe[0].n} examples: robust accuracy ${probe[0].robustAccuracy.toFixed(3)} (${flag.detail})`,
          }
        : flag,
    );
  }
  return { n, points, flags, stopped: false };
}

function suiteOutcome(point: EpsilonOutcome): AttackOutcome {
  const outcome = point.outcomes.find((o) => o.attack === 'suite');
  if (outcome === undefined) throw new Error(`no suite outcome at ε = ${point.epsilon}`);
  return outcome;
}

const LARGE_EPSILON = 0.5;
const PROBE_EXAMPLES = 100;

/** Robust accuracy under PGD at LARGE_EPSILON on the first PROBE_EXAMPLES examples. */
async function largeEpsilonProbe(
  options: EvaluateRobustnessOptions,
  cleanCorrect: boolean[],
  batchSize: number,
): Promise<{ epsilon: number; robustAccuracy: number; n: number }> {
  const { model, dataset, params, seed } = options;
  const count = Math.min(PROBE_EXAMPLES, dataset.size);
  let robust = 0;
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
    robust += result.success.filter((s, k) => !s && cleanCorrect[indices[k]]).length;
    tf.dispose([x, y, result.adversarial]);
    await yieldToEventLoop();
  }
  return { epsilon: LARGE_EPSILON, robustAccuracy: robust / count, n: count };
}

interface AttackBatchArgs {
  options: EvaluateRobustnessOptions;
  epsilon: number;
  attacks: EvaluationAttackName[];
  indices: Uint32Array;
  breaks: Map<EvaluationAttackName, Breaks>;
  gallery: Map<number, GalleryExample>;
  cleanPredictions: number[];
}

async function attackBatch({ options, epsilon, attacks, indices, breaks, gallery, cleanPredictions }: AttackBatchArgs): Promise<void> {
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
        if (isBroken) b.success[indices[k]] = true;
      });
      await collectGallery({ dataset, indices, result, attack, broken, gallery, limit: options.galleryPerEpsilon, cleanPredictions, model });
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
  cleanPredictions: number[];
  model: LogitsModel;
}

/** Keeps the first broken examples of the ε, with the input of the first attack that broke them. */
async function collectGallery({ dataset, indices, result, attack, broken, gallery, limit, cleanPredictions, model }: CollectGalleryArgs): Promise<void> {
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
    gallery.set(index, galleryEntry(dataset, index, attack, adversarial, cleanPredictions[index], predicted[j], result, k));
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

/** Tops the gallery up with unbroken examples (shown as such) when attacks broke fewer than the limit. */
function fillGallery(dataset: Dataset, gallery: Map<number, GalleryExample>, limit: number, cleanPredictions: number[]): GalleryExample[] {
  const size = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
  for (let index = 0; gallery.size < limit && index < dataset.size; index += 1) {
    if (gallery.has(index)) continue;
    const clean = Float32Array.from(dataset.images.subarray(index * size, (index + 1) * size), (v) => v / 255);
    gallery.set(index, galleryEntry(dataset, index, null, clean, cleanPredictions[index], cleanPredictions[index], null, 0));
  }
  return [...gallery.values()].sort((a, b) => a.exampleIndex - b.exampleIndex);
}

function perEpsilonFlags(epsilon: number, breaks: Map<EvaluationAttackName, Breaks>, cleanCorrect: boolean[]): EvaluationFlag[] {
  const flags: EvaluationFlag[] = [];
  // Judged on examples that are correct when clean: elsewhere "success" is free.
  const onCorrect = (s: boolean[]) => s.map((v, i) => v && cleanCorrect[i]);
  const single = breaks.get('fgsm');
  for (const iterative of ['pgd', 'apgd-ce'] as const) {
    const b = breaks.get(iterative);
    if (!single || !b) continue;
    const flag = iterativeWeakerThanSingleStep({ singleStep: onCorrect(single.success), iterative: onCorrect(b.success) });
    flags.push({ ...flag, epsilon, detail: `${iterative} vs fgsm: ${flag.detail}` });
  }
  const blackBox = breaks.get('square');
  const whiteBox = (['fgsm', 'pgd', 'apgd-ce', 'apgd-t'] as const).filter((a) => breaks.has(a)).map((a) => onCorrect(mapEntry(breaks, a).success));
  if (blackBox && whiteBox.length) flags.push({ ...blackBoxBeatWhiteBox({ blackBox: onCorrect(blackBox.success), whiteBox }), epsilon });
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

async function predictAll(model: LogitsModel, dataset: Dataset, batchSize: number): Promise<number[]> {
  const predictions: number[] = [];
  for (const { indices } of sequentialBatches(dataset, batchSize)) {
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
