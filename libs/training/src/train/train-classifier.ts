import * as tf from '@tensorflow/tfjs';
import { craftFgsm, softmaxCrossEntropy } from '@bulwark/attacks';
import { batchCount, batchIterator, makeBatch } from '../datasets/batches';
import type { Dataset } from '../datasets/dataset';
import { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm, yieldToEventLoop } from './evaluate-fgsm';
import { applyModel, asLogitsModel } from '../models/model-zoo';
import type { Rng } from '../rng';

export interface FgsmSettings {
  attack: 'fgsm';
  /** L∞ budget in input space [0,1]. */
  epsilon: number;
}

export interface BatchProgress {
  /** 1-based, absolute (counts epochs done before a resume). */
  epoch: number;
  /** 1-based within the epoch. */
  batch: number;
  batches: number;
  loss: number;
}

export interface EpochResult {
  /** 1-based, absolute. */
  epoch: number;
  /** Mean training loss over the epoch's examples (clean + adversarial halves under adversarial training). */
  trainLoss: number;
  cleanAccuracy: number;
  /** Robust accuracy against FGSM at evalAttack.epsilon, per example (correct clean AND adversarial). */
  adversarialAccuracy: number;
  /** n for both accuracies: the whole test split. */
  testExamples: number;
  /** Wall time of the epoch, training and evaluation. */
  seconds: number;
}

export interface TrainOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  train: Dataset;
  test: Dataset;
  /** Total epochs of the run, counting those done before a resume. */
  epochs: number;
  batchSize: number;
  /** Drives the per-epoch shuffles; its state belongs in every checkpoint. */
  rng: Rng;
  /** Epochs already done (resume from a checkpoint); default 0. */
  startEpoch?: number;
  /** FGSM adversarial training (Goodfellow et al.); absent = plain training. */
  adversarial?: FgsmSettings;
  /** Measured on the whole test split after every epoch. */
  evalAttack: FgsmSettings;
  evalBatchSize?: number;
  /** Checked at every batch boundary; true stops the run with `stopped: true`. */
  shouldStop?: () => boolean | Promise<boolean>;
  onBatchEnd?: (progress: BatchProgress) => void | Promise<void>;
  /** Awaited before the next epoch starts: the place to store metrics and a checkpoint. */
  onEpochEnd?: (result: EpochResult) => void | Promise<void>;
}

export interface TrainSummary {
  /** Absolute count of finished epochs (startEpoch included). */
  epochsCompleted: number;
  stopped: boolean;
  /** The last epoch finished by this call. */
  last?: EpochResult;
}

/**
 * Mini-batch training with Adam (or any tf.Optimizer), optionally FGSM adversarial training,
 * evaluated on the test split after every epoch. A stop request abandons the current epoch:
 * the caller resumes from the checkpoint written at the previous epoch end.
 */
export async function trainClassifier(options: TrainOptions): Promise<TrainSummary> {
  const { model, optimizer, train, test, epochs, batchSize, rng, adversarial, evalAttack } = options;
  const startEpoch = options.startEpoch ?? 0;
  if (!Number.isInteger(epochs) || epochs < 0 || !Number.isInteger(startEpoch) || startEpoch < 0) {
    throw new Error(`epochs (${epochs}) and startEpoch (${startEpoch}) must be non-negative integers`);
  }
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (train.size === 0) {
    throw new Error(`training set ${train.name} is empty`);
  }
  // Checked now rather than when first used, which for evalAttack is after a whole epoch.
  for (const settings of adversarial === undefined ? [evalAttack] : [adversarial, evalAttack]) {
    if (settings.attack !== 'fgsm' || !Number.isFinite(settings.epsilon) || settings.epsilon < 0) {
      throw new Error(`unsupported attack settings ${JSON.stringify(settings)}: expected fgsm with epsilon >= 0`);
    }
  }
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const batches = batchCount(train, batchSize);
  const logitsModel = asLogitsModel(model);
  let last: EpochResult | undefined;

  for (let epoch = startEpoch + 1; epoch <= epochs; epoch += 1) {
    const started = performance.now();
    let lossSum = 0;
    let batch = 0;
    for (const { indices } of batchIterator(train, { batchSize, rng })) {
      if (await options.shouldStop?.()) {
        return { epochsCompleted: epoch - 1, stopped: true, last };
      }
      const { x, y } = makeBatch(train, indices);
      let lossTensor: tf.Scalar;
      try {
        lossTensor = trainStep({ model, optimizer, variables, x, y, adversarial });
      } finally {
        tf.dispose([x, y]);
      }
      const loss = (await lossTensor.data())[0];
      lossTensor.dispose();
      lossSum += loss * indices.length;
      batch += 1;
      await options.onBatchEnd?.({ epoch, batch, batches, loss });
      await yieldToEventLoop();
    }
    const evaluation = await evaluateFgsm({
      model: logitsModel,
      dataset: test,
      epsilon: evalAttack.epsilon,
      batchSize: options.evalBatchSize ?? DEFAULT_EVAL_BATCH_SIZE,
    });
    last = {
      epoch,
      trainLoss: lossSum / train.size,
      cleanAccuracy: evaluation.cleanAccuracy,
      adversarialAccuracy: evaluation.adversarialAccuracy,
      testExamples: evaluation.examples,
      seconds: (performance.now() - started) / 1000,
    };
    await options.onEpochEnd?.(last);
  }
  return { epochsCompleted: Math.max(startEpoch, epochs), stopped: false, last };
}

interface TrainStepOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  adversarial?: FgsmSettings;
}

/** One optimizer step; returns the batch's mean loss as a scalar the caller disposes. */
function trainStep({ model, optimizer, variables, x, y, adversarial }: TrainStepOptions): tf.Scalar {
  return tf.tidy(() => {
    let inputs: tf.Tensor = x;
    let labels = y;
    if (adversarial !== undefined) {
      // Crafted against the current weights, before this step changes them (Goodfellow et al.).
      const xAdv = craftFgsm({ model: asLogitsModel(model), inputs: x, labels: y, epsilon: adversarial.epsilon });
      // The mean over clean ++ adversarial is their paper's α = 0.5 mix of the two losses.
      inputs = tf.concat([x, xAdv]);
      labels = tf.concat([y, y]);
    }
    const cost = optimizer.minimize(
      () => tf.mean(softmaxCrossEntropy({ logits: applyModel(model, inputs, true), labels })) as tf.Scalar,
      true,
      variables,
    );
    if (cost === null) {
      throw new Error('optimizer.minimize returned no loss');
    }
    return cost;
  });
}
