import * as tf from '@tensorflow/tfjs';
import { assertInteger, identityTransform, type Preprocessing } from './preprocessing';

/**
 * round(x·(2^b − 1)) / (2^b − 1): Xu et al. (2018)'s bit-depth squeezer. tf.round rounds
 * half to even, as NumPy's rint in the paper's code, so 1 bit maps exactly 0.5 to 0.
 */
export function reduceBitDepth(inputs: tf.Tensor, bits: number): tf.Tensor {
  assertInteger(bits, 1, 8, 'bits');
  return quantise(inputs, 2 ** bits);
}

/** x rounded to `levels` evenly spaced values in [0,1] (levels ≥ 2). */
export function quantise(inputs: tf.Tensor, levels: number): tf.Tensor {
  assertInteger(levels, 2, 256, 'levels');
  const top = levels - 1;
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(inputs, 0, 1), top)), top));
}

/**
 * Feature squeezing by bit depth. Rounding has a zero gradient in tfjs, so a naive attack is
 * blind; since the squeezed input stays within 1/(2^(b+1)) of x, the identity is the right
 * BPDA approximation (Athalye et al. 2018, straight-through).
 */
export function bitDepthPreprocessing({ bits }: { bits: number }): Preprocessing {
  assertInteger(bits, 1, 8, 'bits');
  return {
    spec: { kind: 'bit-depth', bits },
    apply: (x) => reduceBitDepth(x, bits),
    treatment: 'bpda',
    approximation: identityTransform,
    masksGradients: false,
  };
}
