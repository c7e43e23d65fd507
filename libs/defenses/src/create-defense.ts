import type * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import { bitDepthPreprocessing } from './preprocessing/bit-depth';
import { defendModel, type DefendedModel } from './defended-model';
import { gaussianNoisePreprocessing } from './preprocessing/gaussian-noise';
import { quantiseInputsPreprocessing, saturateLogits, softmaxOutput, type GradientMaskingSpec, type LogitsSquash } from './gradient-masking';
import { jpegPreprocessing } from './preprocessing/jpeg';
import { medianFilterPreprocessing } from './preprocessing/median-filter';
import type { DefenseSpec, LogitsSquashSpec, PreprocessingStep } from '@bulwark/spec';
import type { Preprocessing } from './preprocessing/preprocessing';
import { randomResizePadPreprocessing } from './preprocessing/random-resize-pad';

/** Rebuilds a preprocessing step from its stored spec (a job payload's, a run's). */
export function createPreprocessing(spec: PreprocessingStep): Preprocessing {
  switch (spec.kind) {
    case 'bit-depth':
      return bitDepthPreprocessing(spec);
    case 'median-filter':
      return medianFilterPreprocessing(spec);
    case 'jpeg':
      return jpegPreprocessing(spec);
    case 'gaussian-noise':
      return gaussianNoisePreprocessing(spec);
    case 'random-resize-pad':
      return randomResizePadPreprocessing(spec);
    case 'quantise-inputs':
      return quantiseInputsPreprocessing(spec);
    default:
      throw new Error(`unknown preprocessing '${String((spec as { kind: unknown }).kind)}'`);
  }
}

export function createLogitsSquash(spec: LogitsSquashSpec): LogitsSquash {
  switch (spec.kind) {
    case 'saturate-logits':
      return saturateLogits(spec);
    case 'softmax-output':
      return softmaxOutput(spec);
    default:
      throw new Error(`unknown logits squash '${String((spec as { kind: unknown }).kind)}'`);
  }
}

/** The defended model a spec describes, around `model`. */
export function createDefense({ model, spec }: { model: tf.LayersModel | LogitsModel; spec: DefenseSpec }): DefendedModel {
  return defendModel({
    model,
    preprocessing: spec.preprocessing.map(createPreprocessing),
    logits: spec.logits && createLogitsSquash(spec.logits),
  });
}

/**
 * A classifier with gradient masking switched on, labelled as such: inputs quantised
 * (levels = 2 is a hard threshold at 0.5) or logits saturated. For demonstrations and for
 * checking that evaluations catch masking, never as a defense.
 */
export function maskGradients({ model, spec }: { model: tf.LayersModel | LogitsModel; spec: GradientMaskingSpec }): DefendedModel {
  switch (spec.kind) {
    case 'quantise-inputs':
      return defendModel({ model, preprocessing: [quantiseInputsPreprocessing(spec)] });
    case 'saturate-logits':
      return defendModel({ model, logits: saturateLogits(spec) });
    default:
      throw new Error(`unknown gradient masking '${String((spec as { kind: unknown }).kind)}'`);
  }
}
