import * as tf from '@tensorflow/tfjs';
import type { PerturbationNorm } from './attack-result';
import { readAllAndDispose } from './read-tensors';

/** Slack on ‖δ‖ ≤ ε for float32 rounding of x + δ (ARCHITECTURE.md: within 1e-5). */
export const PERTURBATION_TOLERANCE = 1e-5;

export interface VerifyPerturbationOptions {
  inputs: tf.Tensor;
  adversarial: tf.Tensor;
  /** The budget in `norm`; Infinity checks only the [0,1] box (minimum-norm attacks). */
  epsilon: number;
  norm: PerturbationNorm;
}

export interface PerturbationCheck {
  valid: boolean[];
  linfNorms: Float32Array;
  l2Norms: Float32Array;
}

/**
 * Per example: is the adversarial input inside the threat model? ‖x' − x‖ ≤ ε + 1e-5 in
 * the chosen norm, every value of x' in [0,1] and finite. An attack's own clipping is not
 * trusted: this re-measures what was actually produced.
 */
export async function verifyPerturbation(options: VerifyPerturbationOptions): Promise<boolean[]> {
  return (await checkPerturbation(options)).valid;
}

/** verifyPerturbation plus both measured norms, for callers that report them. */
export async function checkPerturbation({ inputs, adversarial, epsilon, norm }: VerifyPerturbationOptions): Promise<PerturbationCheck> {
  assertNorm(norm);
  if (!(epsilon === Infinity)) {
    assertEpsilon(epsilon);
  }
  if (!tf.util.arraysEqual(inputs.shape, adversarial.shape)) {
    throw new Error(`inputs [${inputs.shape}] and adversarial [${adversarial.shape}] differ in shape`);
  }
  const batch = inputs.shape[0] ?? 0;
  if (batch === 0) {
    return { valid: [], linfNorms: new Float32Array(0), l2Norms: new Float32Array(0) };
  }
  const read = tf.tidy(() => {
    const x = tf.reshape(inputs, [batch, -1]);
    const xAdv = tf.reshape(adversarial, [batch, -1]);
    const delta = tf.sub(xAdv, x);
    const linf = tf.max(tf.abs(delta), 1);
    const l2 = tf.sqrt(tf.sum(tf.square(delta), 1));
    // Reductions may skip NaN, so non-finite values are tested for explicitly.
    const inBox = tf.logicalAnd(
      tf.logicalAnd(tf.greaterEqual(tf.min(xAdv, 1), 0), tf.lessEqual(tf.max(xAdv, 1), 1)),
      tf.all(tf.logicalAnd(tf.isFinite(xAdv), tf.isFinite(x)), 1),
    );
    return [linf, l2, inBox];
  });
  const [linfValues, l2Values, inBox] = await readAllAndDispose(read);
  const linfNorms = linfValues as Float32Array;
  const l2Norms = l2Values as Float32Array;
  const bound = epsilon + PERTURBATION_TOLERANCE;
  const measured = norm === 'linf' ? linfNorms : l2Norms;
  const valid = Array.from(measured, (n, i) => inBox[i] === 1 && n <= bound);
  return { valid, linfNorms, l2Norms };
}

export function assertEpsilon(epsilon: number): void {
  if (!Number.isFinite(epsilon) || epsilon < 0) {
    throw new Error(`epsilon must be a finite number >= 0, got ${epsilon}`);
  }
}

export function assertNorm(norm: PerturbationNorm): void {
  if (!(['linf', 'l2'] as const).includes(norm)) {
    throw new Error(`unsupported norm '${norm}' (expected 'linf' or 'l2')`);
  }
}
