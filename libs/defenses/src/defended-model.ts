import * as tf from '@tensorflow/tfjs';
import { eot, type LogitsModel } from '@bulwark/attacks';
import { asLogitsModel } from '@bulwark/models';
import type { DefenseSpec, LogitsSquashSpec, PreprocessingKind } from '@bulwark/spec';
import type { LogitsSquash } from './gradient-masking';
import { adaptivePreprocessing, applyPreprocessing, isRandomised, type Preprocessing } from './preprocessing/preprocessing';

/** A defense as stored with its evaluation: the spec plus what an honest evaluation of it requires. */
export interface DefenseDescription extends DefenseSpec {
  /** Some step hides or randomises gradients: naive and adaptive robustness must be reported side by side. */
  needsAdaptiveEvaluation: boolean;
  /** Some step exists to mask gradients (a demonstration, never a defense). */
  masksGradients: boolean;
  /** Forward passes differ on the same input: the adaptive attack averages with EOT. */
  randomised: boolean;
  adaptive: {
    /** Steps attacked through BPDA (identity approximation unless stated). */
    bpda: PreprocessingKind[];
    /** Steps averaged over with EOT. */
    eot: PreprocessingKind[];
    /** The adaptive attack takes the logits before this squash. */
    logitsBeforeSquash: LogitsSquashSpec['kind'] | null;
  };
  /** Costs outside tfjs kernels, one line per step that has them. */
  costs: string[];
}

export interface DefendedModel {
  /** The deployed model: preprocessing, classifier, logits squash. What a request sees. */
  model: LogitsModel;
  /** The classifier alone. */
  classifier: LogitsModel;
  preprocessing: readonly Preprocessing[];
  logits?: LogitsSquash;
  description: DefenseDescription;
}

export interface DefendModelOptions {
  model: tf.LayersModel | LogitsModel;
  preprocessing?: readonly Preprocessing[];
  logits?: LogitsSquash;
}

/** Wraps a classifier in preprocessing steps (and, for masking demonstrations, a logits squash). */
export function defendModel({ model, preprocessing = [], logits }: DefendModelOptions): DefendedModel {
  const classifier = toLogitsModel(model);
  const steps = [...preprocessing];
  return {
    model: (inputs) =>
      tf.tidy(() => {
        const out = classifier(applyPreprocessing(steps, inputs));
        return logits ? logits.apply(out) : out;
      }),
    classifier,
    preprocessing: steps,
    logits,
    description: describeDefense(steps, logits),
  };
}

export function toLogitsModel(model: tf.LayersModel | LogitsModel): LogitsModel {
  return model instanceof tf.LayersModel ? asLogitsModel(model) : model;
}

export function describeDefense(steps: readonly Preprocessing[], logits?: LogitsSquash): DefenseDescription {
  const bpda = steps.filter((s) => s.treatment === 'bpda').map((s) => s.spec.kind);
  const eotKinds = steps.filter((s) => s.treatment === 'eot').map((s) => s.spec.kind);
  return {
    preprocessing: steps.map((s) => ({ ...s.spec })),
    ...(logits && { logits: { ...logits.spec } }),
    needsAdaptiveEvaluation: bpda.length > 0 || eotKinds.length > 0 || logits !== undefined,
    masksGradients: steps.some((s) => s.masksGradients) || logits !== undefined,
    randomised: eotKinds.length > 0,
    adaptive: { bpda, eot: eotKinds, logitsBeforeSquash: logits ? logits.spec.kind : null },
    costs: steps.flatMap((s) => (s.cost ? [`${s.spec.kind}: ${s.cost}`] : [])),
  };
}

/**
 * The model a naive evaluation attacks: the deployed model as it is, gradients through
 * whatever tfjs gives (zero through rounding, JPEG and squashed logits; one random draw per
 * pass through noise). Its numbers are what the defense appears to be worth.
 */
export function naiveView(defended: DefendedModel): LogitsModel {
  return defended.model;
}

export interface AdaptiveViewOptions {
  /** EOT draws per forward pass when the defense is random (default 10). */
  samples?: number;
  /** Seeds the EOT draws (default 0). */
  seed?: number;
}

/**
 * The model an adaptive evaluation attacks (Athalye, Carlini & Wagner 2018): each
 * gradient-free step replaced by BPDA, random steps averaged by EOT over `samples` draws,
 * and the logits taken before any squash (which keeps the arg-max, so decisions match the
 * deployed model's). Deterministic defenses get exactly the deployed forward pass; a random
 * one gets the EOT average, whose decisions approximate the deployed model's majority vote.
 */
export function adaptiveView(defended: DefendedModel, options: AdaptiveViewOptions = {}): LogitsModel {
  const view = unsquashedView(defended, options);
  const squash = defended.logits?.spec;
  // A distilled model's logits rescaled by 1/T: same arg-max, but cross-entropy no longer saturates.
  if (squash?.kind === 'softmax-output' && squash.temperature !== undefined && squash.temperature !== 1) {
    const temperature = squash.temperature;
    return (inputs) => tf.tidy(() => tf.div<tf.Tensor2D>(view(inputs), temperature));
  }
  return view;
}

function unsquashedView(defended: DefendedModel, { samples = 10, seed = 0 }: AdaptiveViewOptions): LogitsModel {
  const { classifier, preprocessing } = defended;
  if (preprocessing.length === 0) return classifier;
  const transform = adaptivePreprocessing(preprocessing);
  if (isRandomised(preprocessing)) return eot({ model: classifier, transform, samples, seed });
  // No step is random: the seed is irrelevant, any fixed one gives the same transform.
  return (inputs) => tf.tidy(() => classifier(transform(inputs, 0)));
}
