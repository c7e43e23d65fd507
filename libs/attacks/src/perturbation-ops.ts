import * as tf from '@tensorflow/tfjs';
import type { PerturbationNorm } from './attack-result';

/** Reshapes a per-example vector [B] to [B, 1, …, 1] so it broadcasts against a batch of `rank`. */
export function perExample(values: tf.Tensor1D, rank: number): tf.Tensor {
  return tf.reshape(values, [values.shape[0], ...new Array<number>(rank - 1).fill(1)]);
}

/** Per-example ‖v‖₂ as [B]. */
export function l2NormPerExample(v: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.reshape(v, [v.shape[0], -1])), 1)) as tf.Tensor1D);
}

/** Per-example ‖v‖∞ as [B]. */
export function linfNormPerExample(v: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.max<tf.Tensor1D>(tf.abs(tf.reshape(v, [v.shape[0], -1])), 1));
}

/** v / (‖v‖ + 1e-12) per example, in the given norm (the steepest-ascent direction's scale). */
export function normalizePerExample(v: tf.Tensor, norm: PerturbationNorm): tf.Tensor {
  return tf.tidy(() => {
    const n = norm === 'l2' ? l2NormPerExample(v) : linfNormPerExample(v);
    return tf.div(v, perExample(tf.add<tf.Tensor1D>(n, 1e-12), v.rank));
  });
}

/**
 * Steepest ascent direction of unit norm for the threat model: sign(g) for L∞, g/‖g‖₂ for L2.
 */
export function ascentDirection(gradient: tf.Tensor, norm: PerturbationNorm): tf.Tensor {
  return norm === 'linf' ? tf.sign(gradient) : normalizePerExample(gradient, 'l2');
}

/**
 * Projects x' onto {‖x' − x‖ ≤ ε} ∩ [0,1]. For L∞ the two constraints are boxes and clipping
 * is the exact projection; for L2 this is the ball projection followed by the box clip, as
 * in Madry et al. and AutoAttack (the clip can only shrink ‖δ‖₂).
 * `epsilon` may be a number or a per-example [B] tensor.
 */
export function project(inputs: tf.Tensor, candidate: tf.Tensor, epsilon: number | tf.Tensor1D, norm: PerturbationNorm): tf.Tensor {
  return tf.tidy(() => {
    const delta = tf.sub(candidate, inputs);
    let bounded: tf.Tensor;
    if (norm === 'linf') {
      // clipByValue is one fast kernel on wasm; minimum/maximum against a tensor are slow loops there.
      bounded =
        typeof epsilon === 'number'
          ? tf.clipByValue(delta, -epsilon, epsilon)
          : tf.minimum(tf.maximum(delta, tf.neg(perExample(epsilon, inputs.rank))), perExample(epsilon, inputs.rank));
    } else {
      const eps = typeof epsilon === 'number' ? tf.scalar(epsilon) : epsilon;
      const norms = l2NormPerExample(delta);
      // Scale only where the step left the ball; inside it the factor is exactly 1.
      const factor = tf.minimum<tf.Tensor1D>(tf.div(eps, tf.add(norms, 1e-12)), 1);
      bounded = tf.mul(delta, perExample(factor, inputs.rank));
    }
    return tf.clipByValue(tf.add(inputs, bounded), 0, 1);
  });
}

/**
 * A random start inside the threat model, clipped to [0,1]: δ ~ U[−ε, ε]^d for L∞; for L2
 * a uniformly random direction at radius ε·u, u ~ U[0,1] (every radius is equally likely,
 * which keeps starts near x reachable in high dimension, unlike volume-uniform sampling).
 */
export function randomStart(inputs: tf.Tensor, epsilon: number, norm: PerturbationNorm, seed: number): tf.Tensor {
  return tf.tidy(() => {
    if (norm === 'linf') {
      return tf.clipByValue(tf.add(inputs, tf.randomUniform(inputs.shape, -epsilon, epsilon, 'float32', seed)), 0, 1);
    }
    const direction = normalizePerExample(tf.randomNormal(inputs.shape, 0, 1, 'float32', seed), 'l2');
    const radius = tf.mul<tf.Tensor1D>(tf.randomUniform([inputs.shape[0]], 0, 1, 'float32', seed + 1), epsilon);
    return project(inputs, tf.add(inputs, tf.mul(direction, perExample(radius, inputs.rank))), epsilon, 'l2');
  });
}

/** Selects whole examples: where mask[i] take a[i] else b[i]; works for [B] vectors too. */
export function selectExamples(mask: tf.Tensor1D, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const rank = Math.max(a.rank, b.rank);
    return tf.where(perExample(tf.cast<tf.Tensor1D>(mask, 'bool'), rank), a, b);
  });
}

/**
 * Swaps an iterative attack's loop state for the next one, disposing every old tensor the
 * new state does not reuse, so memory stays flat over thousands of iterations.
 */
export function replaceState<T extends Record<string, tf.Tensor>>(old: T, next: T): T {
  const kept = new Set(Object.values(next));
  for (const tensor of Object.values(old)) {
    if (!kept.has(tensor)) tensor.dispose();
  }
  return next;
}

/** The examples at `indices` (a batch of their own; the caller disposes it). */
export function gatherExamples<T extends tf.Tensor>(tensor: T, indices: number[]): T {
  return tf.tidy(() => tf.gather<T>(tensor, tf.tensor1d(indices, 'int32')));
}

/** `full` with the examples at `indices` replaced by the rows of `updates`, as a new tensor. */
export function mergeExamples(full: tf.Tensor, indices: number[], updates: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (indices.length === 0) return tf.clone(full);
    const where = tf.tensor2d(indices, [indices.length, 1], 'int32');
    const scattered = tf.scatterND(where, updates, full.shape);
    const mask = tf.scatterND<tf.Rank.R1>(where, tf.ones([indices.length], 'int32'), [full.shape[0]]);
    return selectExamples(mask, scattered, full);
  });
}

/** Indices i with flags[i] true. */
export function indicesWhere(flags: ArrayLike<boolean | number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i += 1) {
    if (flags[i]) out.push(i);
  }
  return out;
}
