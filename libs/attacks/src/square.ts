import * as tf from '@tensorflow/tfjs';
import { labelLogit, largestOtherLogit } from './attack-losses';
import type { AttackResult } from './attack-result';
import { assertSteps, finishAttack, hits } from './finish-attack';
import { assertLabelsMatch, type LogitsModel } from './logits-model';
import { gatherExamples, indicesWhere, mergeExamples, selectExamples } from './perturbation-ops';
import { readAllAndDispose, readAndDispose } from './read-tensors';
import { createSeededRandom, type SeededRandom } from './seeded-random';
import { softmaxCrossEntropy } from './softmax-cross-entropy';
import { assertEpsilon } from './verify-perturbation';

export interface SquareOptions {
  model: LogitsModel;
  /** Batch of inputs in [0,1]: [B, H, W, C] images, [B, H, W], or flat [B, D] vectors. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  /** L∞ budget. */
  epsilon: number;
  /** Model queries per example and restart, after the initial one (default 5000, AutoAttack's). */
  queries?: number;
  /** Initial fraction of the pixels a square covers (default 0.8). */
  pInit?: number;
  /** Fresh random initialisations, each only on the examples still robust (default 1). */
  restarts?: number;
  /** 'margin' (default): z_y − max_{j≠y} z_j; 'ce': −cross-entropy. Both minimised. */
  loss?: 'margin' | 'ce';
  /** Targeted when given: success means predicting these classes. */
  targets?: tf.Tensor1D;
  /** Seeds every random choice (default 0). */
  seed?: number;
}

export interface SquareResult extends AttackResult {
  /** Per example, the number of model evaluations spent on it (0 if already misclassified). */
  queries: Int32Array;
}

/**
 * p, the fraction of the image a square covers at iteration `iteration` of `queries`: the
 * piecewise-constant schedule of Andriushchenko et al. (2020), rescaled to the query budget
 * as AutoAttack does (the breakpoints are for 10,000 queries).
 */
export function squareFraction(iteration: number, queries: number, pInit: number): number {
  const it = Math.floor((iteration / queries) * 10000);
  const schedule: Array<[number, number]> = [
    [10, 1],
    [50, 2],
    [200, 4],
    [500, 8],
    [1000, 16],
    [2000, 32],
    [4000, 64],
    [6000, 128],
    [8000, 256],
  ];
  let divisor = 512;
  for (const [bound, d] of schedule) {
    if (it <= bound) {
      divisor = d;
      break;
    }
  }
  return pInit / divisor;
}

/**
 * L∞ Square Attack (Andriushchenko et al., ECCV 2020): score-based, no gradients. Starts
 * from vertical stripes of ±ε, then per query proposes, per example, one random square
 * window set to x ± ε (one random sign per channel) and keeps it when the loss drops or the
 * example becomes misclassified. The square's side follows the p schedule. Windows and
 * colours are drawn per example, as in the original paper's code (AutoAttack's port shares
 * one window across the batch), and every position 0..H−s is reachable.
 * Flat [B, D] inputs are treated as one row: the "square" is a run of round(p·D) ≥ 1 features.
 */
export async function square(options: SquareOptions): Promise<SquareResult> {
  const { model, inputs, labels, epsilon, queries = 5000, pInit = 0.8, restarts = 1, loss = 'margin', targets, seed = 0 } = options;
  assertEpsilon(epsilon);
  assertLabelsMatch(inputs, labels);
  assertSteps(queries, 'queries');
  assertSteps(restarts, 'restarts');
  if (!(pInit > 0 && pInit <= 1)) throw new Error(`pInit must lie in (0, 1], got ${pInit}`);
  if (!(['margin', 'ce'] as const).includes(loss)) throw new Error(`square: unknown loss '${loss}'`);
  const batch = inputs.shape[0];
  const imageShape = asImageShape(inputs.shape);
  const rng = createSeededRandom(seed);
  const imageModel: LogitsModel = (x) => model(tf.reshape(x, [x.shape[0], ...inputs.shape.slice(1)]));
  const images = tf.reshape<tf.Rank.R4>(inputs, [batch, ...imageShape]);
  const robust = Array.from(await readAndDispose(tf.tidy(() => tf.logicalNot(hits(model(inputs), labels, targets)))), (v) => v === 1);
  const spent = new Int32Array(batch);
  const bestLoss = new Float32Array(batch).fill(Infinity);
  let adversarial: tf.Tensor = tf.clone(images);
  try {
    for (let restart = 0; restart < restarts; restart += 1) {
      const active = indicesWhere(robust);
      if (active.length === 0) break;
      const x = gatherExamples(images, active);
      const y = gatherExamples(labels, active);
      const t = targets === undefined ? undefined : gatherExamples(targets, active);
      let run: SingleRunResult;
      try {
        run = await squareSingleRun({ model: imageModel, x, y, targets: t, epsilon, queries, pInit, loss, rng });
      } finally {
        tf.dispose([x, y]);
        t?.dispose();
      }
      const take = indicesWhere(active.map((i, j) => run.fooled[j] || run.loss[j] < bestLoss[i]));
      const merged = tf.tidy(() =>
        mergeExamples(
          adversarial,
          take.map((j) => active[j]),
          gatherExamples(run.adversarial, take),
        ),
      );
      adversarial.dispose();
      adversarial = merged;
      run.adversarial.dispose();
      active.forEach((i, j) => {
        spent[i] += run.queries[j];
        if (take.includes(j)) bestLoss[i] = run.loss[j];
        if (run.fooled[j]) robust[i] = false;
      });
    }
  } finally {
    images.dispose();
  }
  const shaped = tf.reshape(adversarial, inputs.shape);
  adversarial.dispose();
  return { ...(await finishAttack({ model, inputs, labels, adversarial: shaped, epsilon, norm: 'linf', targets })), queries: spent };
}

/** [H, W, C] for the attack's windows: images as they are, flat vectors as one row. */
function asImageShape(shape: number[]): [number, number, number] {
  switch (shape.length) {
    case 2:
      return [1, shape[1], 1];
    case 3:
      return [shape[1], shape[2], 1];
    case 4:
      return [shape[1], shape[2], shape[3]];
    default:
      throw new Error(`square: inputs must be [B, D], [B, H, W] or [B, H, W, C], got [${shape}]`);
  }
}

interface SingleRunOptions {
  model: LogitsModel;
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  targets?: tf.Tensor1D;
  epsilon: number;
  queries: number;
  pInit: number;
  loss: 'margin' | 'ce';
  rng: SeededRandom;
}

interface SingleRunResult {
  adversarial: tf.Tensor4D;
  fooled: boolean[];
  loss: Float32Array;
  queries: Int32Array;
}

async function squareSingleRun({ model, x, y, targets, epsilon, queries, pInit, loss, rng }: SingleRunOptions): Promise<SingleRunResult> {
  const [n, height, width, channels] = x.shape;
  const evaluate = (candidate: tf.Tensor, labels: tf.Tensor1D, goal: tf.Tensor1D | undefined) =>
    tf.tidy(() => {
      const logits = model(candidate);
      if (goal === undefined) {
        const margin = tf.sub(labelLogit(logits, labels), largestOtherLogit(logits, labels));
        return { margin, loss: loss === 'margin' ? margin : tf.neg(softmaxCrossEntropy({ logits, labels })) };
      }
      const margin = tf.sub(largestOtherLogit(logits, goal), labelLogit(logits, goal));
      return { margin, loss: loss === 'margin' ? margin : softmaxCrossEntropy({ logits, labels: goal }) };
    });
  const stripes = Float32Array.from({ length: n * width * channels }, () => rng.sign() * epsilon);
  let xBest = tf.tidy(() => tf.clipByValue(tf.add(x, tf.tensor4d(stripes, [n, 1, width, channels])), 0, 1)) as tf.Tensor4D;
  const initial = evaluate(xBest, y, targets);
  const [initialMargins, initialLosses] = await readAllAndDispose([initial.margin, initial.loss]);
  const margins = Float32Array.from(initialMargins);
  const losses = Float32Array.from(initialLosses);
  const spent = new Int32Array(n).fill(1);
  const rows = tf.tidy(() => tf.reshape(tf.range(0, height, 1, 'int32'), [1, height, 1, 1]));
  const cols = tf.tidy(() => tf.reshape(tf.range(0, width, 1, 'int32'), [1, 1, width, 1]));

  // The working set holds only the examples still to fool; it is compacted when one falls.
  let work = indicesWhere(Array.from(margins, (m) => m > 0));
  let state = compact(x, xBest, y, targets, work, losses);
  for (let iteration = 0; iteration < queries && work.length > 0; iteration += 1) {
    const m = work.length;
    const p = squareFraction(iteration, queries, pInit);
    const [sh, sw] = height === 1 ? [1, Math.min(width, Math.max(Math.round(p * width), 1))] : squareSide(p, height, width);
    const top = Int32Array.from({ length: m }, () => rng.int(height - sh + 1));
    const left = Int32Array.from({ length: m }, () => rng.int(width - sw + 1));
    const colours = Float32Array.from({ length: m * channels }, () => rng.sign() * 2 * epsilon);
    const { xWork, xBestWork, yWork, targetsWork, lossWork } = state;
    const step = tf.tidy(() => {
      const vh = tf.tensor4d(top, [m, 1, 1, 1], 'int32');
      const vw = tf.tensor4d(left, [m, 1, 1, 1], 'int32');
      const inside = tf.logicalAnd(
        tf.logicalAnd(tf.greaterEqual(rows, vh), tf.less(rows, tf.add(vh, sh))),
        tf.logicalAnd(tf.greaterEqual(cols, vw), tf.less(cols, tf.add(vw, sw))),
      );
      const delta = tf.mul(tf.cast(inside, 'float32'), tf.tensor4d(colours, [m, 1, 1, channels]));
      const proposal = tf.clipByValue(tf.minimum(tf.maximum(tf.add(xBestWork, delta), tf.sub(xWork, epsilon)), tf.add(xWork, epsilon)), 0, 1);
      const scored = evaluate(proposal, yWork, targetsWork);
      const lower = tf.less<tf.Tensor1D>(scored.loss, lossWork);
      const accept = tf.logicalOr<tf.Tensor1D>(lower, tf.lessEqual(scored.margin, 0));
      return {
        xBestWork: selectExamples(accept, proposal, xBestWork) as tf.Tensor4D,
        lossWork: tf.where(lower, scored.loss, lossWork) as tf.Tensor1D,
        margin: scored.margin,
        accept,
      };
    });
    tf.dispose([state.xBestWork, state.lossWork]);
    const [accepted, margin, lossValues] = await Promise.all([step.accept.data(), step.margin.data(), step.lossWork.data()]);
    tf.dispose([step.accept, step.margin]);
    state = { ...state, xBestWork: step.xBestWork, lossWork: step.lossWork };
    const fallen: number[] = [];
    work.forEach((i, j) => {
      spent[i] += 1;
      losses[i] = lossValues[j];
      if (accepted[j] === 1) margins[i] = margin[j];
      if (margins[i] <= 0) fallen.push(j);
    });
    if (fallen.length > 0) {
      const merged = mergeExamples(xBest, work, state.xBestWork) as tf.Tensor4D;
      xBest.dispose();
      xBest = merged;
      disposeWork(state);
      work = work.filter((i) => margins[i] > 0);
      state = compact(x, xBest, y, targets, work, losses);
    }
  }
  const adversarial = mergeExamples(xBest, work, state.xBestWork) as tf.Tensor4D;
  tf.dispose([xBest, rows, cols]);
  disposeWork(state);
  return { adversarial, fooled: Array.from(margins, (m) => m <= 0), loss: losses, queries: spent };
}

/** Side lengths [h, w] of the square covering a fraction p of an H×W image (at least 1). */
function squareSide(p: number, height: number, width: number): [number, number] {
  const side = Math.min(Math.max(Math.round(Math.sqrt(p * height * width)), 1), height, width);
  return [side, side];
}

interface WorkState {
  xWork: tf.Tensor4D;
  xBestWork: tf.Tensor4D;
  yWork: tf.Tensor1D;
  targetsWork?: tf.Tensor1D;
  lossWork: tf.Tensor1D;
}

function compact(x: tf.Tensor4D, xBest: tf.Tensor4D, y: tf.Tensor1D, targets: tf.Tensor1D | undefined, work: number[], losses: Float32Array): WorkState {
  return {
    xWork: gatherExamples(x, work),
    xBestWork: gatherExamples(xBest, work),
    yWork: gatherExamples(y, work),
    targetsWork: targets === undefined ? undefined : gatherExamples(targets, work),
    lossWork: tf.tensor1d(work.map((i) => losses[i])),
  };
}

function disposeWork(state: WorkState): void {
  tf.dispose([state.xWork, state.xBestWork, state.yWork, state.lossWork]);
  state.targetsWork?.dispose();
}
