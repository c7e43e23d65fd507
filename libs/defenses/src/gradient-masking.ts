import * as tf from '@tensorflow/tfjs';
import type { LogitsSquashSpec, PreprocessingStep } from '@bulwark/spec';
import { quantise } from './preprocessing/bit-depth';
import { assertInteger, identityTransform, type Preprocessing } from './preprocessing/preprocessing';

/**
 * Gradient masking offered as an explicit, labelled option so that users can watch it fail
 * (ARCHITECTURE.md: masking is not robustness). Each method leaves the decisions almost as
 * they were and only takes the gradient away; the evaluation raises its validity flags and
 * BPDA or an attack on the un-squashed logits breaks it.
 */
export type GradientMaskingSpec = Extract<PreprocessingStep, { kind: 'quantise-inputs' }> | LogitsSquashSpec;

/** A transform of the logits that keeps every example's arg-max (so attacking the logits before it is exact). */
export interface LogitsSquash {
  spec: LogitsSquashSpec;
  apply: (logits: tf.Tensor2D) => tf.Tensor2D;
  masksGradients: true;
}

/**
 * Inputs rounded to `levels` values (2 levels: a hard threshold at 0.5). Forward exactly a
 * quantiser, backward zero in tfjs, so every gradient attack stands still; BPDA with the
 * identity walks straight through it. Coarse levels can give real robustness on near-binary
 * digits (binarisation at ε < 0.5), which is why a demonstration should use several levels.
 */
export function quantiseInputsPreprocessing({ levels }: { levels: number }): Preprocessing {
  assertInteger(levels, 2, 256, 'levels');
  return {
    spec: { kind: 'quantise-inputs', levels },
    apply: (x) => quantise(x, levels),
    treatment: 'bpda',
    approximation: identityTransform,
    masksGradients: true,
  };
}

/**
 * Logits divided by a tiny temperature (defensive distillation's deployment trick without the
 * distillation): the softmax saturates to exactly one-hot in float32, so the cross-entropy
 * gradient is exactly zero on confidently classified inputs. The arg-max is unchanged, so
 * attacking the logits before the squash (Carlini & Wagner 2016) is the adaptive attack.
 */
export function saturateLogits({ temperature }: { temperature: number }): LogitsSquash {
  if (!(Number.isFinite(temperature) && temperature > 0 && temperature < 1)) {
    throw new Error(`saturate-logits needs a temperature in (0, 1), got ${temperature}`);
  }
  return {
    spec: { kind: 'saturate-logits', temperature },
    apply: (logits) => tf.tidy(() => tf.div<tf.Tensor2D>(logits, temperature)),
    masksGradients: true,
  };
}

/**
 * The model as defensive distillation deploys it, read through its softmax: attacks that take
 * the probabilities for logits (Papernot et al.'s evaluation) see the softmax of a distilled
 * student saturate to exactly one-hot, hence zero gradients. Carlini & Wagner (2016) broke it
 * by attacking the logits before the softmax, which is this squash's adaptive view.
 */
export function softmaxOutput({ temperature }: { temperature?: number } = {}): LogitsSquash {
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 1)) {
    throw new Error(`softmax-output's distillation temperature must be >= 1, got ${temperature}`);
  }
  return {
    spec: { kind: 'softmax-output', ...(temperature !== undefined && { temperature }) },
    apply: (logits) => tf.softmax<tf.Tensor2D>(logits),
    masksGradients: true,
  };
}
