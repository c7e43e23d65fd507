import * as tf from '@tensorflow/tfjs';
import { checkPerturbation, verifyPerturbation } from './verify-perturbation';

describe('verifyPerturbation', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('accepts ‖δ‖∞ ≤ ε + 1e-5 inside [0,1] and rejects everything else', async () => {
    const inputs = tf.tensor2d([
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
      [0.95, 0.5, 0.5],
      [0.5, 0.5, 0.5],
    ]);
    const adversarial = tf.tensor2d([
      [0.6, 0.5, 0.4], // exactly ε (up to float32 rounding)
      [0.5, 0.5, 0.600005], // ε + 5e-6: inside the tolerance
      [0.5, 0.5, 0.62], // 0.12 > ε
      [1.01, 0.5, 0.5], // small step but outside the box
      [0.5, NaN, 0.5],
    ]);

    const check = await checkPerturbation({ inputs, adversarial, epsilon: 0.1, norm: 'linf' });

    expect(check.valid).toEqual([true, true, false, false, false]);
    expect(await verifyPerturbation({ inputs, adversarial, epsilon: 0.1, norm: 'linf' })).toEqual(check.valid);
    expect(check.linfNorms[2]).toBeCloseTo(0.12, 6);
    tf.dispose([inputs, adversarial]);
  });

  it('accepts ‖δ‖₂ ≤ ε + 1e-5 inside [0,1] and rejects everything else', async () => {
    const inputs = tf.tensor2d([
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5, 0.5],
    ]);
    const adversarial = tf.tensor2d([
      [0.8, 0.9, 0.5, 0.5], // ‖δ‖₂ = 0.5 exactly, though ‖δ‖∞ = 0.4 would fail an L∞ ε of 0.3
      [0.5, 0.5, 0.5, 1.0], // 0.5: on the boundary
      [0.5, 0.5, 0.5, 1.01], // 0.51 > 0.5, and outside the box too
      [0.2, 0.8, 0.5, 0.5], // ‖δ‖₂ = √0.18 ≈ 0.424
      [0.5, 0.5, 0.9, 0.9], // ‖δ‖₂ = √0.32 ≈ 0.566 > 0.5
    ]);

    const check = await checkPerturbation({ inputs, adversarial, epsilon: 0.5, norm: 'l2' });

    expect(check.valid).toEqual([true, true, false, true, false]);
    expect(Array.from(check.l2Norms)).toEqual([0.5, 0.5, 0.51, Math.sqrt(0.18), Math.sqrt(0.32)].map((n) => expect.closeTo(n, 6)));
    expect(Array.from(check.linfNorms)).toEqual([0.4, 0.5, 0.51, 0.3, 0.4].map((n) => expect.closeTo(n, 6)));
    expect(await verifyPerturbation({ inputs, adversarial, epsilon: 0.3, norm: 'linf' })).toEqual([false, false, false, true, false]);
    tf.dispose([inputs, adversarial]);
  });

  it('checks only the box when ε is infinite (minimum-norm attacks)', async () => {
    const inputs = tf.tensor2d([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    const adversarial = tf.tensor2d([
      [0, 1],
      [0, 1.5],
    ]);
    expect(await verifyPerturbation({ inputs, adversarial, epsilon: Infinity, norm: 'l2' })).toEqual([true, false]);
    tf.dispose([inputs, adversarial]);
  });

  it('refuses mismatched shapes and unknown norms', async () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([3, 2]);
    await expect(verifyPerturbation({ inputs: a, adversarial: b, epsilon: 0.1, norm: 'linf' })).rejects.toThrow(/shape/);
    await expect(verifyPerturbation({ inputs: a, adversarial: a, epsilon: 0.1, norm: 'l1' as 'linf' })).rejects.toThrow(/norm/);
    tf.dispose([a, b]);
  });
});
