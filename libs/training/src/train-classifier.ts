import * as tf from '@tensorflow/tfjs';
import { batchCount, batchIterator, makeBatch, type Dataset, type Rng } from '@bulwark/data';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';
import { asLogitsModel, trainableVariables } from '@bulwark/models';
import { DEFAULT_EVAL_BATCH_SIZE, evaluateFgsm } from '@bulwark/evaluation';
import { assertLearningRateSchedule, assertSchedulable, learningRateAt, setOptimizerLearningRate, type LearningRateSchedule } from './learning-rate-schedule';
import { resolveAdversarialTraining, warmedEpsilon, type AdversarialTraining, type ResolvedAdversarialTraining } from './methods/adversarial-training';
import { adversarialTrainingMethod } from './methods/create-training-method';
import { cleanTraining, type TrainingContext, type TrainingMethod } from './methods/training-method';
import { dataParallelStep, type CreateTrainingMethod, type GradientExchange } from './data-parallel';
import { createOverfittingGuard, type OverfittingGuard, type OverfittingGuardOptions, type OverfittingGuardReport } from './overfitting-guard';

/** FGSM at an L∞ ε: the per-epoch evaluation attack, and the original spelling of FGSM training. */
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
  /** The minibatch's loss (mean over its replays under free adversarial training). */
  loss: number;
  /** Training ε of this minibatch after any warm-up; absent without adversarial training. */
  epsilon?: number;
  /** Learning rate of the minibatch's last optimizer step; absent without a schedule. */
  learningRate?: number;
}

export interface EpochResult {
  /** 1-based, absolute. */
  epoch: number;
  /**
   * Mean training loss over the epoch's examples: the method's objective (for FGSM with the
   * default weight, the mean over clean and adversarial rows; for free training, over replays).
   */
  trainLoss: number;
  cleanAccuracy: number;
  /** Robust accuracy against FGSM at evalAttack.epsilon, per example (correct clean AND adversarial). */
  adversarialAccuracy: number;
  /** n for both accuracies: the whole test split. */
  testExamples: number;
  /** Wall time of the epoch: training, the guard and evaluation. */
  seconds: number;
  /**
   * CPU seconds the process spent on the epoch (user + system): on a shared machine the
   * fairer cost, since wall time also counts the other jobs' turns. Absent outside Node.
   */
  cpuSeconds?: number;
  /** Training ε at the epoch's last minibatch (after warm-up); absent without adversarial training. */
  epsilon?: number;
  /** Learning rate of the epoch's last optimizer step; absent without a schedule. */
  learningRate?: number;
  /** The catastrophic-overfitting guard's measurement and any rollback; absent without a guard. */
  overfittingGuard?: OverfittingGuardReport;
}

/** Options every training loop shares (plain, adversarial, teacher, distillation). */
export interface TrainLoopOptions {
  optimizer: tf.Optimizer;
  train: Dataset;
  test: Dataset;
  /** Total epochs of the run, counting those done before a resume. */
  epochs: number;
  batchSize: number;
  /** Drives the per-epoch shuffles and every random start; its state belongs in every checkpoint. */
  rng: Rng;
  /**
   * Epochs this run already did (resume from its checkpoint); default 0. A model restored
   * from another run's checkpoint, or imported, starts a new run at 0.
   */
  startEpoch?: number;
  /**
   * Sets the optimizer's learning rate before every optimizer step, from the step's position
   * in the run (Adam, SGD or momentum); absent: the optimizer's own rate, untouched.
   */
  learningRateSchedule?: LearningRateSchedule;
  /** Measured on the whole test split after every epoch. */
  evalAttack: FgsmSettings;
  evalBatchSize?: number;
  /**
   * Data-parallel training: every minibatch split into `shards` fixed shards whose adversarial
   * examples and gradients `exchange` computes (on any worker), reduced here in shard order. The
   * result depends on the shard count, never on how many workers computed the shards.
   */
  dataParallel?: { shards: number; exchange: GradientExchange };
  /** Checked at every batch boundary; true stops the run with `stopped: true`. */
  shouldStop?: () => boolean | Promise<boolean>;
  onBatchEnd?: (progress: BatchProgress) => void | Promise<void>;
  /** Awaited before the next epoch starts: the place to store metrics and a checkpoint. */
  onEpochEnd?: (result: EpochResult) => void | Promise<void>;
}

export interface TrainOptions extends TrainLoopOptions {
  /**
   * Trained from its current weights: fresh from `createModel`, restored from a checkpoint
   * (`restoreModelWeights`) or imported (`importLayersModel`).
   */
  model: tf.LayersModel;
  /**
   * Adversarial training method; absent = plain training. `{ attack: 'fgsm', epsilon }` is
   * the original spelling of `{ method: 'fgsm', epsilon }`.
   */
  adversarial?: AdversarialTraining | FgsmSettings;
  /** Catastrophic-overfitting guard, checked after every epoch (needs an ε: its own or the method's). */
  overfittingGuard?: OverfittingGuardOptions;
}

export interface TrainSummary {
  /** Absolute count of finished epochs (startEpoch included). */
  epochsCompleted: number;
  /** A stop request (shouldStop) ended the run mid-epoch. */
  stopped: boolean;
  /** The last epoch finished by this call. */
  last?: EpochResult;
  /**
   * The overfitting guard ended the run (onCollapse 'stop') on a collapse at epoch `epoch`,
   * after rolling back to the state of epoch `restoredEpoch`; without `restoredEpoch` there was
   * no earlier good epoch (it collapsed at the first guarded one) and the model keeps epoch
   * `epoch`'s weights. The run is complete, not interrupted.
   */
  earlyStop?: { reason: 'catastrophic-overfitting'; epoch: number; restoredEpoch?: number };
}

/**
 * Mini-batch training with any tf.Optimizer, plain or adversarial (`adversarial`), evaluated
 * on the test split after every epoch. A stop request abandons the current epoch: the
 * caller resumes from the checkpoint written at the previous epoch end.
 */
export async function trainClassifier(options: TrainOptions): Promise<TrainSummary> {
  const settings = options.adversarial === undefined ? undefined : resolveAdversarial(options.adversarial);
  return runTrainingLoop({
    ...options,
    trainingEpsilon: settings?.epsilon,
    epsilonAt:
      settings === undefined
        ? undefined
        : (batchIndex, batchesPerEpoch) => warmedEpsilon(settings.epsilon, settings.epsilonWarmup, batchIndex, batchesPerEpoch),
    guard: options.overfittingGuard,
    createMethod: methodOf(settings),
  });
}

/** The method trainClassifier trains with: what a data-parallel shard worker rebuilds from the run's spec. */
export function trainingMethodFor(adversarial: AdversarialTraining | FgsmSettings | undefined): CreateTrainingMethod {
  return methodOf(adversarial === undefined ? undefined : resolveAdversarial(adversarial));
}

function methodOf(settings: ResolvedAdversarialTraining | undefined): CreateTrainingMethod {
  return (context) => (settings === undefined ? cleanTraining(context) : adversarialTrainingMethod(context, settings));
}

function resolveAdversarial(adversarial: AdversarialTraining | FgsmSettings): ResolvedAdversarialTraining {
  if ('attack' in adversarial) {
    assertFgsmSettings(adversarial);
    return resolveAdversarialTraining({ method: 'fgsm', epsilon: adversarial.epsilon });
  }
  return resolveAdversarialTraining(adversarial);
}

function assertFgsmSettings(settings: FgsmSettings): void {
  // Settings also arrive as JSON: the literal type is checked, not assumed.
  const attack: string = settings.attack;
  if (attack !== 'fgsm' || !Number.isFinite(settings.epsilon) || settings.epsilon < 0) {
    throw new Error(`unsupported attack settings ${JSON.stringify(settings)}: expected fgsm with epsilon >= 0`);
  }
}

export interface TrainingLoopOptions extends TrainLoopOptions {
  model: tf.LayersModel;
  createMethod: (context: TrainingContext) => TrainingMethod;
  /** Warmed training ε of the run's t-th minibatch; absent for objectives without a threat model. */
  epsilonAt?: (batchIndex: number, batchesPerEpoch: number) => number;
  /** The method's full ε, the guard's default. */
  trainingEpsilon?: number;
  guard?: OverfittingGuardOptions;
}

/** The epoch loop behind trainClassifier, distill and trainTeacherAtTemperature. */
export async function runTrainingLoop(options: TrainingLoopOptions): Promise<TrainSummary> {
  const { model, optimizer, train, test, epochs, batchSize, rng, evalAttack, learningRateSchedule: schedule } = options;
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
  // Checked now rather than when first used, which for some is after a whole epoch.
  assertFgsmSettings(evalAttack);
  if (schedule !== undefined) {
    assertLearningRateSchedule(schedule);
    assertSchedulable(optimizer);
  }
  const guard: OverfittingGuard | undefined =
    options.guard === undefined ? undefined : createOverfittingGuard(options.guard, options.trainingEpsilon, options.evalBatchSize);

  const variables = trainableVariables(model);
  const method = options.createMethod({ model, optimizer, variables, rng });
  const { dataParallel } = options;
  if (dataParallel && (!method.gradients || method.replays !== 1)) {
    throw new Error('data-parallel training needs a method whose steps are independent (not free adversarial training)');
  }
  const batches = batchCount(train, batchSize);
  const stepsPerEpoch = batches * method.replays;
  const logitsModel = asLogitsModel(model);
  let last: EpochResult | undefined;

  try {
    for (let epoch = startEpoch + 1; epoch <= epochs; epoch += 1) {
      const started = performance.now();
      const cpuStarted = processCpuSeconds();
      let lossSum = 0;
      let batch = 0;
      let epsilon: number | undefined;
      let learningRate: number | undefined;
      for (const { indices } of batchIterator(train, { batchSize, rng })) {
        if (await options.shouldStop?.()) {
          return { epochsCompleted: epoch - 1, stopped: true, last };
        }
        const batchIndex = (epoch - 1) * batches + batch;
        epsilon = options.epsilonAt?.(batchIndex, batches);
        const setLearningRate = (replay: number) => {
          if (schedule === undefined) return;
          learningRate = learningRateAt(schedule, { step: batchIndex * method.replays + replay, stepsPerEpoch, epochs });
          setOptimizerLearningRate(optimizer, learningRate);
        };
        let loss: number;
        if (dataParallel) {
          setLearningRate(0);
          const { shards, exchange } = dataParallel;
          const seed = rng.tensorSeed();
          loss = await dataParallelStep({ model, optimizer, variables, train, indices, epsilon: epsilon ?? 0, seed, shards, step: batchIndex, exchange });
        } else {
          loss = await localStep(method, train, indices, epsilon ?? 0, setLearningRate);
        }
        lossSum += loss * indices.length;
        batch += 1;
        await options.onBatchEnd?.({
          epoch,
          batch,
          batches,
          loss,
          ...(epsilon === undefined ? {} : { epsilon }),
          ...(learningRate === undefined ? {} : { learningRate }),
        });
        await yieldToEventLoop();
      }
      method.endEpoch();
      const guardReport = await guard?.afterEpoch({ model, optimizer, epoch, rng });
      const evaluation = await evaluateFgsm({
        model: logitsModel,
        dataset: test,
        epsilon: evalAttack.epsilon,
        batchSize: options.evalBatchSize ?? DEFAULT_EVAL_BATCH_SIZE,
      });
      const cpuEnded = processCpuSeconds();
      last = {
        epoch,
        trainLoss: lossSum / train.size,
        cleanAccuracy: evaluation.cleanAccuracy,
        adversarialAccuracy: evaluation.adversarialAccuracy,
        testExamples: evaluation.examples,
        seconds: (performance.now() - started) / 1000,
        ...(cpuStarted === undefined || cpuEnded === undefined ? {} : { cpuSeconds: cpuEnded - cpuStarted }),
        ...(epsilon === undefined ? {} : { epsilon }),
        ...(learningRate === undefined ? {} : { learningRate }),
        ...(guardReport === undefined ? {} : { overfittingGuard: guardReport }),
      };
      await options.onEpochEnd?.(last);
      if (guardReport?.collapse !== undefined && guard?.onCollapse === 'stop') {
        const { rolledBackTo } = guardReport;
        return {
          epochsCompleted: epoch,
          stopped: false,
          last,
          earlyStop: { reason: 'catastrophic-overfitting', epoch, ...(rolledBackTo === undefined ? {} : { restoredEpoch: rolledBackTo }) },
        };
      }
    }
  } finally {
    method.endEpoch();
  }
  return { epochsCompleted: Math.max(startEpoch, epochs), stopped: false, last };
}

/** The method's replays of one minibatch in this process; returns their mean loss. */
async function localStep(
  method: TrainingMethod,
  train: Dataset,
  indices: Uint32Array,
  epsilon: number,
  setLearningRate: (replay: number) => void,
): Promise<number> {
  const { x, y } = makeBatch(train, indices);
  const losses: tf.Scalar[] = [];
  try {
    for (let replay = 0; replay < method.replays; replay += 1) {
      setLearningRate(replay);
      losses.push(method.step({ x, y, epsilon }));
    }
  } finally {
    tf.dispose([x, y]);
  }
  const lossTensor = losses.length === 1 ? losses[0] : tf.tidy(() => tf.div<tf.Scalar>(tf.addN(losses), losses.length));
  const loss = (await lossTensor.data())[0];
  tf.dispose([...losses, lossTensor]);
  return loss;
}

function processCpuSeconds(): number | undefined {
  if (typeof process === 'undefined' || typeof process.cpuUsage !== 'function') return undefined;
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
