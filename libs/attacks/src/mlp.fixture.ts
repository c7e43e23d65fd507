import * as tf from '@tensorflow/tfjs';
import type { LogitsModel } from './logits-model';

export interface TrainedMlp {
  /** Plain ReLU MLP on flattened inputs. */
  model: LogitsModel;
  /** Held-out examples [n, side, side, 1] in [0,1]. */
  inputs: tf.Tensor4D;
  labels: tf.Tensor1D;
  dispose: () => void;
}

export interface TrainedMlpOptions {
  classes?: number;
  /** Images are side×side×1. */
  side?: number;
  hidden?: number;
  testExamples?: number;
  trainSteps?: number;
  seed?: number;
}

/**
 * A small classifier trained in a few hundred Adam steps on synthetic "images": one random
 * prototype per class plus Gaussian noise, clipped to [0,1]. Accurate when clean and far
 * from robust, so attacks have something to break; fully seeded, so every run is the same.
 */
export function trainedMlp({ classes = 10, side = 6, hidden = 32, testExamples = 64, trainSteps = 200, seed = 1 }: TrainedMlpOptions = {}): TrainedMlp {
  const features = side * side;
  const prototypes = tf.randomUniform([classes, features], 0.15, 0.85, 'float32', seed);
  const sample = (n: number, sampleSeed: number) =>
    tf.tidy(() => {
      const labels = tf.cast(tf.floor(tf.mul(tf.randomUniform([n], 0, 0.9999, 'float32', sampleSeed), classes)), 'int32') as tf.Tensor1D;
      const noise = tf.randomNormal([n, features], 0, 0.2, 'float32', sampleSeed + 1);
      const x = tf.clipByValue(tf.add(tf.gather(prototypes, labels), noise), 0, 1);
      return { x: tf.reshape<tf.Rank.R4>(x, [n, side, side, 1]), labels };
    });
  const w1 = tf.variable(tf.randomNormal([features, hidden], 0, Math.sqrt(2 / features), 'float32', seed + 2));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.randomNormal([hidden, classes], 0, Math.sqrt(1 / hidden), 'float32', seed + 3));
  const b2 = tf.variable(tf.zeros([classes]));
  const model: LogitsModel = (x) =>
    tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), w1), b1));
      return tf.add<tf.Tensor2D>(tf.matMul(h, w2), b2);
    });
  const train = sample(512, seed + 10);
  const optimizer = tf.train.adam(0.01);
  for (let step = 0; step < trainSteps; step += 1) {
    const start = (step * 64) % 512;
    optimizer.minimize(() =>
      tf.tidy(() => {
        const x = tf.slice(train.x, [start, 0, 0, 0], [64, -1, -1, -1]);
        const y = tf.slice(train.labels, [start], [64]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), model(x));
      }),
    );
  }
  optimizer.dispose();
  const test = sample(testExamples, seed + 20);
  tf.dispose([train.x, train.labels, prototypes]);
  return {
    model,
    inputs: test.x,
    labels: test.labels,
    dispose: () => tf.dispose([w1, b1, w2, b2, test.x, test.labels]),
  };
}

/**
 * The same classifier behind input quantisation round(x·levels)/levels: its input gradient
 * is exactly zero everywhere (the textbook gradient-masking defense), yet it is no more
 * robust than the plain model once the attacker looks through the rounding.
 */
export function quantised(model: LogitsModel, levels: number): { model: LogitsModel; preprocess: (x: tf.Tensor) => tf.Tensor } {
  const preprocess = (x: tf.Tensor) => tf.tidy(() => tf.div(tf.round(tf.mul(x, levels)), levels));
  return { model: (x) => tf.tidy(() => model(preprocess(x))), preprocess };
}
