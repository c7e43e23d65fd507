import * as tf from '@tensorflow/tfjs';
import { crossEntropyObjective, lossAndGradient } from './attack-losses';
import { readAllAndDispose, readAndDispose } from './read-tensors';
import { assertLabelsMatch, type LogitsModel } from './logits-model';

/**
 * Signs that an evaluation is not to be trusted (Carlini et al. 2019, "On Evaluating
 * Adversarial Robustness"; Athalye et al. 2018): each usually means the attacks were weak
 * or the gradients hidden, not that the model is robust.
 */
export type ValidityFlagName =
  | 'iterative-weaker-than-single-step'
  | 'robustness-rose-with-epsilon'
  | 'not-broken-at-large-epsilon'
  | 'black-box-beat-white-box'
  | 'zero-or-nan-gradients'
  | 'stochastic-forward-pass';

export interface ValidityFlag {
  flag: ValidityFlagName;
  raised: boolean;
  /** Example indices (or, for curve checks, indices of curve points) that raised it. */
  examples: number[];
  /** One human-readable sentence, for storing next to the flag. */
  detail: string;
}

export interface CurvePoint {
  epsilon: number;
  /** Robust accuracy at this ε, in [0,1], on the same examples as every other point. */
  robustAccuracy: number;
}

/**
 * An iterative attack should find everything a single step finds; where the single step
 * succeeded and the iterative attack did not, the iterative attack is broken or the loss
 * surface is masked. Inputs are per-example success arrays on the same examples.
 */
export function iterativeWeakerThanSingleStep({ singleStep, iterative }: { singleStep: boolean[]; iterative: boolean[] }): ValidityFlag {
  assertSameLength(singleStep, iterative);
  const examples = indicesOf(singleStep.map((s, i) => s && !iterative[i]));
  return flag(
    'iterative-weaker-than-single-step',
    examples,
    `single-step succeeded where the iterative attack failed on ${examples.length} of ${singleStep.length} examples`,
  );
}

/**
 * Robust accuracy can only fall as ε grows (a larger ball contains the smaller one); a rise
 * means the attack failed to find, at the larger ε, what it found at a smaller one.
 * `examples` lists the curve points (in the given order) whose accuracy exceeds that at some
 * smaller ε by more than `tolerance`.
 */
export function robustnessRoseWithEpsilon({ curve, tolerance = 0 }: { curve: CurvePoint[]; tolerance?: number }): ValidityFlag {
  const order = curve.map((_, i) => i).sort((a, b) => curve[a].epsilon - curve[b].epsilon);
  const risen: number[] = [];
  let lowest = Infinity;
  for (const i of order) {
    if (curve[i].robustAccuracy > lowest + tolerance) risen.push(i);
    lowest = Math.min(lowest, curve[i].robustAccuracy);
  }
  risen.sort((a, b) => a - b);
  return flag(
    'robustness-rose-with-epsilon',
    risen,
    risen.length === 0 ? 'robust accuracy never rose with ε' : `robust accuracy rose with ε at ε = ${risen.map((i) => curve[i].epsilon).join(', ')}`,
  );
}

/**
 * At a large ε (0.5 in L∞ lets the attacker move every pixel to mid-grey and beyond) every
 * classifier should be broken; accuracy above `maxAccuracy` there means the attack, not the
 * model, failed. Points below `largeEpsilon` are not judged.
 */
export function notBrokenAtLargeEpsilon({
  curve,
  largeEpsilon = 0.5,
  maxAccuracy = 0.02,
}: {
  curve: CurvePoint[];
  largeEpsilon?: number;
  maxAccuracy?: number;
}): ValidityFlag {
  const examples = indicesOf(curve.map((p) => p.epsilon >= largeEpsilon && p.robustAccuracy > maxAccuracy));
  const judged = curve.filter((p) => p.epsilon >= largeEpsilon).length;
  return flag(
    'not-broken-at-large-epsilon',
    examples,
    judged === 0
      ? `no point at ε ≥ ${largeEpsilon}, nothing judged`
      : `${examples.length} of ${judged} points at ε ≥ ${largeEpsilon} keep robust accuracy above ${maxAccuracy}`,
  );
}

/**
 * A black-box attack uses strictly less information than a gradient attack; where it
 * succeeds and every gradient attack failed, the gradients are misleading.
 */
export function blackBoxBeatWhiteBox({ blackBox, whiteBox }: { blackBox: boolean[]; whiteBox: boolean[][] }): ValidityFlag {
  for (const w of whiteBox) assertSameLength(blackBox, w);
  const examples = indicesOf(blackBox.map((b, i) => b && whiteBox.every((w) => !w[i])));
  return flag('black-box-beat-white-box', examples, `the black-box attack broke ${examples.length} examples no gradient attack broke`);
}

export interface GradientHealth extends ValidityFlag {
  /** Per example: the input gradient of the loss is exactly zero everywhere. */
  zero: boolean[];
  /** Per example: the input gradient has a NaN or ±∞ entry. */
  nonFinite: boolean[];
}

/**
 * Per example, the input gradient of the cross-entropy at the clean input: exactly zero
 * (shattered or saturated gradients: quantisation, thresholds, softmax saturation) or not
 * finite. Either makes every gradient attack blind on that example.
 */
export async function gradientHealth({ model, inputs, labels }: { model: LogitsModel; inputs: tf.Tensor; labels: tf.Tensor1D }): Promise<GradientHealth> {
  assertLabelsMatch(inputs, labels);
  const batch = inputs.shape[0];
  let zero: boolean[];
  let nonFinite: boolean[];
  try {
    const [maxAbs, finite] = tf.tidy((): tf.Tensor1D[] => {
      const { gradient } = lossAndGradient(model, crossEntropyObjective(labels), inputs);
      const flat = tf.reshape(gradient, [batch, -1]);
      return [tf.max<tf.Tensor1D>(tf.abs(flat), 1), tf.all<tf.Tensor1D>(tf.isFinite(flat), 1)];
    });
    const [magnitudes, finiteFlags] = await readAllAndDispose([maxAbs, finite]);
    nonFinite = Array.from(finiteFlags, (f) => f !== 1);
    zero = Array.from(magnitudes, (m, i) => finiteFlags[i] === 1 && m === 0);
  } catch (error) {
    // A model with no differentiable path from input to logits has no gradient at all.
    if (!(error instanceof Error && /Cannot compute gradient/.test(error.message))) throw error;
    zero = new Array<boolean>(batch).fill(true);
    nonFinite = new Array<boolean>(batch).fill(false);
  }
  const examples = indicesOf(zero.map((z, i) => z || nonFinite[i]));
  const zeros = zero.filter(Boolean).length;
  const nans = nonFinite.filter(Boolean).length;
  return {
    ...flag('zero-or-nan-gradients', examples, `input gradient exactly zero on ${zeros} and not finite on ${nans} of ${batch} examples`),
    zero,
    nonFinite,
  };
}

/**
 * Runs the model `repeats` times on the same inputs; if the logits differ (beyond
 * `tolerance`) the model is randomised and its gradients must be averaged (EOT) before any
 * gradient attack result means anything.
 */
export async function stochasticForwardPass({
  model,
  inputs,
  repeats = 2,
  tolerance = 0,
}: {
  model: LogitsModel;
  inputs: tf.Tensor;
  repeats?: number;
  tolerance?: number;
}): Promise<ValidityFlag> {
  if (!Number.isInteger(repeats) || repeats < 2) throw new Error(`repeats must be an integer >= 2, got ${repeats}`);
  const spread = await readAndDispose(
    tf.tidy(() => {
      const runs = Array.from({ length: repeats }, () => model(inputs));
      const stacked = tf.stack(runs);
      return tf.max(tf.sub(tf.max(stacked, 0), tf.min(stacked, 0)), 1);
    }),
  );
  // NaN ≠ NaN: a model that returns NaN is not reproducible either.
  const examples = indicesOf(Array.from(spread, (s) => !(s <= tolerance)));
  return flag('stochastic-forward-pass', examples, `identical forward passes disagreed on ${examples.length} of ${spread.length} examples`);
}

function flag(name: ValidityFlagName, examples: number[], detail: string): ValidityFlag {
  return { flag: name, raised: examples.length > 0, examples, detail };
}

function indicesOf(flags: boolean[]): number[] {
  return flags.flatMap((f, i) => (f ? [i] : []));
}

function assertSameLength(a: unknown[], b: unknown[]): void {
  if (a.length !== b.length) throw new Error(`per-example arrays differ in length: ${a.length} vs ${b.length}`);
}
