import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from '@bulwark/attacks';
import { distillationTraining, temperatureTraining } from './methods/distillation-training';
import { runTrainingLoop, type TrainLoopOptions, type TrainSummary } from './train-classifier';

export interface TeacherTrainingOptions extends TrainLoopOptions {
  /** Trained from its current weights; its logits stay unscaled (T is applied in the loss only). */
  model: tf.LayersModel;
  /** T > 0; the teacher learns softmax(logits / T). */
  temperature: number;
}

export interface DistillOptions extends TrainLoopOptions {
  /** Fixed; asked for logits on every minibatch (inference mode). Wrap a LayersModel with `asLogitsModel`. */
  teacher: LogitsModel;
  /** Trained from its current weights. */
  student: tf.LayersModel;
  /** T > 0, the temperature of both the soft labels and the student's training softmax. */
  temperature: number;
}

/**
 * Trains a defensive-distillation teacher (Papernot et al. 2016, step 1): cross-entropy of
 * softmax(logits / T) against the true labels. The per-epoch evaluation sees the raw logits.
 */
export async function trainTeacherAtTemperature({ temperature, ...options }: TeacherTrainingOptions): Promise<TrainSummary> {
  assertTemperature(temperature);
  return runTrainingLoop({ ...options, createMethod: (context) => temperatureTraining(context, temperature) });
}

/**
 * Defensive distillation (Papernot, McDaniel, Wu, Jha & Swami 2016, "Distillation as a
 * defense to adversarial perturbations against deep neural networks", step 2): the student
 * learns the teacher's soft labels softmax(teacher(x) / T) through softmax(student(x) / T),
 * and is deployed at T = 1: the returned student's logits are used as they are. Having learnt
 * to match soft labels through logits / T, its logits are about T times larger than those of
 * a model trained at T = 1, which saturates the softmax and hides gradients: its naive robustness (attacks on the softmax/CE at T = 1, like the
 * per-epoch FGSM here) overstates it; evaluate it on logits (APGD-DLR, C&W) as well.
 */
export async function distill({ teacher, student, temperature, ...options }: DistillOptions): Promise<TrainSummary> {
  assertTemperature(temperature);
  return runTrainingLoop({ ...options, model: student, createMethod: (context) => distillationTraining(context, teacher, temperature) });
}

function assertTemperature(temperature: number): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new Error(`temperature must be a finite number > 0, got ${temperature}`);
  }
}
