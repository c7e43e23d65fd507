import * as tf from '@tensorflow/tfjs';
import { linearModel } from './linear-model.fixture';
import type { LogitsModel } from './logits-model';
import { createSeededRandom } from './seeded-random';

export interface LinearProblem {
  model: LogitsModel;
  inputs: tf.Tensor2D;
  labels: tf.Tensor1D;
  /** weights[i][k]: input i, class k. */
  weights: number[][];
  bias: number[];
  rows: number[][];
  labelValues: number[];
  dispose: () => void;
}

/**
 * A random linear classifier and inputs drawn inside [ε, 1 − ε]^d (so the box never binds),
 * labelled with the model's own prediction (so every example starts correct). `centred`
 * adds the bias −½·Σ_i w_ik, putting the decision boundaries through the middle of the box.
 */
export function linearProblem({
  features,
  classes,
  examples,
  epsilon,
  seed,
  centred = true,
}: {
  features: number;
  classes: number;
  examples: number;
  epsilon: number;
  seed: number;
  centred?: boolean;
}): LinearProblem {
  const rng = createSeededRandom(seed);
  const weights = Array.from({ length: features }, () => Array.from({ length: classes }, () => rng.next() * 2 - 1));
  const bias = weights[0].map((_, k) => (centred ? -0.5 * weights.reduce((s, w) => s + w[k], 0) : 0));
  const rows = Array.from({ length: examples }, () => Array.from({ length: features }, () => Math.fround(epsilon + rng.next() * (1 - 2 * epsilon))));
  const labelValues = rows.map((row) => argMax(logitsOf(weights, row, bias)));
  const { model, dispose } = linearModel(weights, bias);
  const inputs = tf.tensor2d(rows);
  const labels = tf.tensor1d(labelValues, 'int32');
  return {
    model,
    inputs,
    labels,
    weights,
    bias,
    rows,
    labelValues,
    dispose: () => {
      dispose();
      tf.dispose([inputs, labels]);
    },
  };
}

export function logitsOf(weights: number[][], row: number[], bias?: number[]): number[] {
  return weights[0].map((_, k) => row.reduce((sum, v, i) => sum + v * weights[i][k], bias?.[k] ?? 0));
}

export function argMax(values: number[]): number {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

/** d = w_y − w_j for input weights `weights`. */
export function weightDifference(weights: number[][], y: number, j: number): number[] {
  return weights.map((w) => w[y] - w[j]);
}

/**
 * The exact worst case of a linear model in the interior: the smallest margin
 * min_j (z_y − z_j)(x) − ε‖w_y − w_j‖_q over classes j ≠ y (q = 1 for L∞, 2 for L2).
 * Negative exactly where an adversarial example exists.
 */
export function worstMargin(
  weights: number[][],
  row: number[],
  y: number,
  epsilon: number,
  norm: 'linf' | 'l2',
  bias?: number[],
): { margin: number; runnerUp: number } {
  const z = logitsOf(weights, row, bias);
  let margin = Infinity;
  let runnerUp = -1;
  for (let j = 0; j < z.length; j += 1) {
    if (j === y) continue;
    const d = weightDifference(weights, y, j);
    const dual = norm === 'linf' ? d.reduce((s, v) => s + Math.abs(v), 0) : Math.sqrt(d.reduce((s, v) => s + v * v, 0));
    const m = z[y] - z[j] - epsilon * dual;
    if (m < margin) {
      margin = m;
      runnerUp = j;
    }
  }
  return { margin, runnerUp };
}
