import * as tf from '@tensorflow/tfjs';
import { useCpuBackend } from './cpu-backend.fixture';
import { finishAttack } from './finish-attack';
import { linearModel } from './linear-model.fixture';

describe('finishAttack', () => {
  beforeAll(useCpuBackend);

  it('counts a success only for a misclassified example inside the ball and the box, in the attack norm', async () => {
    const { model, dispose } = linearModel([
      [1, 0],
      [0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.5, 0.4],
      [0.5, 0.4],
      [0.5, 0.4],
      [0.5, 0.4],
    ]);
    const labels = tf.tensor1d([0, 0, 0, 0], 'int32');
    const adversarial = tf.tensor2d([
      [0.4, 0.5], // fooled, ‖δ‖₂ = 0.141, ‖δ‖∞ = 0.1
      [0.2, 0.6], // fooled, ‖δ‖₂ = 0.36 > 0.2
      [0.5, 0.45], // inside, not fooled
      [0.45, 1.1], // fooled, but outside [0,1]
    ]);

    const l2 = await finishAttack({ model, inputs, labels, adversarial: tf.clone(adversarial), epsilon: 0.2, norm: 'l2' });
    const linf = await finishAttack({ model, inputs, labels, adversarial: tf.clone(adversarial), epsilon: 0.3, norm: 'linf' });
    const unbounded = await finishAttack({ model, inputs, labels, adversarial: tf.clone(adversarial), epsilon: Infinity, norm: 'l2' });

    expect(l2.success).toEqual([true, false, false, false]);
    expect(linf.success).toEqual([true, true, false, false]);
    expect(unbounded.success).toEqual([true, true, false, false]);
    expect(Array.from(l2.l2Norms)).toEqual([Math.hypot(0.1, 0.1), Math.hypot(0.3, 0.2), 0.05, Math.hypot(0.05, 0.7)].map((n) => expect.closeTo(n, 6)));
    tf.dispose([inputs, labels, adversarial, l2.adversarial, linf.adversarial, unbounded.adversarial]);
    dispose();
  });

  it('for a targeted attack, counts only the target class', async () => {
    const { model, dispose } = linearModel([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const inputs = tf.tensor2d([
      [0.5, 0.4, 0.3],
      [0.5, 0.4, 0.3],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');
    const targets = tf.tensor1d([2, 2], 'int32');
    const adversarial = tf.tensor2d([
      [0.4, 0.45, 0.3],
      [0.4, 0.4, 0.45],
    ]);
    const result = await finishAttack({ model, inputs, labels, targets, adversarial, epsilon: 0.2, norm: 'linf' });
    expect(result.success).toEqual([false, true]);
    tf.dispose([inputs, labels, targets, adversarial]);
    dispose();
  });
});
