import * as tf from '@tensorflow/tfjs';
import { craftPgd, predictLabels } from '@bulwark/attacks';
import { restoreCheckpoint, serializeCheckpoint } from '../checkpoints/checkpoint';
import { makeBatch, sequentialBatches } from '../datasets/batches';
import { validationSplit, type Dataset } from '../datasets/dataset';
import { asLogitsModel } from '../models/model-zoo';
import type { Rng } from '../rng';
import { DEFAULT_EVAL_BATCH_SIZE, yieldToEventLoop } from './evaluate-fgsm';

/** The guard's best epoch so far: what a resumed run needs to judge collapses as the uninterrupted one would. */
export interface OverfittingGuardBest {
  epoch: number;
  /** Its held-out PGD accuracy (`OverfittingGuardReport.pgdAccuracy` of that epoch). */
  accuracy: number;
  /** Its checkpoint (the one written at that epoch's end, or `serializeCheckpoint` of the same state). */
  checkpoint: Uint8Array;
}

/**
 * Catastrophic overfitting (Wong, Rice & Kolter 2020): single-step adversarial training can,
 * within an epoch, lose all robustness to multi-step attacks while its FGSM accuracy soars.
 * After every epoch the guard measures PGD accuracy on a fixed held-out set; when it
 * collapses it restores the weights and optimizer state of the best epoch so far.
 */
export interface OverfittingGuardOptions {
  /**
   * Examples the PGD accuracy is measured on, the same every epoch: carved from the training
   * set (`carveHeldOut`), never the test split. A few hundred are plenty to see a collapse.
   */
  heldOut: Dataset;
  /** L∞ radius of the measuring PGD; default the training method's ε (its full value, not a warmed one). */
  epsilon?: number;
  /** Default 10. */
  steps?: number;
  /** Default 2.5ε/steps. */
  stepSize?: number;
  /** Seeds the random starts (batch k of the held-out set uses seed + k), the same every epoch; default 0. */
  seed?: number;
  /** A collapse: accuracy more than this below the best epoch's (a fraction; default 0.2). */
  maxDrop?: number;
  /** Also a collapse: accuracy below this floor after a best epoch at or above it (default: no floor). */
  floor?: number;
  /**
   * After rolling back: 'stop' (default) ends the run, Wong et al.'s early stopping; the
   * rolled-back epoch counts as done and its checkpoint holds the best epoch's state.
   * 'continue' trains on from the restored weights (the RNG is not rewound: later epochs see
   * new shuffles and random starts, not a replay of the collapse).
   */
  onCollapse?: 'stop' | 'continue';
  /** When resuming a run: its best epoch so far. */
  best?: OverfittingGuardBest;
}

export interface OverfittingGuardReport {
  /**
   * Robust accuracy on the held-out set after this epoch's training, before any rollback:
   * per example, correct on the clean input AND on its PGD input.
   */
  pgdAccuracy: number;
  /** n: the held-out set's size. */
  examples: number;
  /** The measuring attack, in full. */
  attack: { norm: 'linf'; epsilon: number; steps: number; stepSize: number; randomStart: true; seed: number };
  /** Best epoch so far and its accuracy, this one included (a collapsed epoch never is). */
  bestEpoch: number;
  bestAccuracy: number;
  /** Present when this epoch collapsed: the model and optimizer now hold epoch `rolledBackTo`'s state. */
  rolledBackTo?: number;
}

export interface GuardedState {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  epoch: number;
  rng: Rng;
}

export interface OverfittingGuard {
  readonly onCollapse: 'stop' | 'continue';
  afterEpoch(state: GuardedState): Promise<OverfittingGuardReport>;
}

export function createOverfittingGuard(
  options: OverfittingGuardOptions,
  trainingEpsilon: number | undefined,
  evalBatchSize = DEFAULT_EVAL_BATCH_SIZE,
): OverfittingGuard {
  const epsilon = options.epsilon ?? trainingEpsilon;
  if (epsilon === undefined || !(Number.isFinite(epsilon) && epsilon > 0 && epsilon <= 1)) {
    throw new Error(`overfitting guard: epsilon must be in (0, 1] (it defaults to the training method's), got ${String(epsilon)}`);
  }
  const steps = options.steps ?? 10;
  const stepSize = options.stepSize ?? (2.5 * epsilon) / steps;
  const seed = options.seed ?? 0;
  const maxDrop = options.maxDrop ?? 0.2;
  const { floor, heldOut } = options;
  const onCollapse = options.onCollapse ?? 'stop';
  if (heldOut.size === 0) throw new Error('overfitting guard: the held-out set is empty');
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`overfitting guard: steps must be a positive integer, got ${steps}`);
  if (!(Number.isFinite(stepSize) && stepSize > 0)) throw new Error(`overfitting guard: stepSize must be > 0, got ${stepSize}`);
  if (!(maxDrop > 0 && maxDrop <= 1)) throw new Error(`overfitting guard: maxDrop must be in (0, 1], got ${maxDrop}`);
  if (floor !== undefined && !(floor >= 0 && floor <= 1)) throw new Error(`overfitting guard: floor must be in [0, 1], got ${floor}`);
  if (onCollapse !== 'stop' && onCollapse !== 'continue') throw new Error(`overfitting guard: onCollapse must be 'stop' or 'continue', got ${String(onCollapse)}`);
  const attack = { norm: 'linf' as const, epsilon, steps, stepSize, randomStart: true as const, seed };
  let best = options.best === undefined ? undefined : { ...options.best };

  return {
    onCollapse,
    async afterEpoch({ model, optimizer, epoch, rng }) {
      const pgdAccuracy = await heldOutPgdAccuracy(model, heldOut, attack, evalBatchSize);
      const collapsed =
        best !== undefined && (pgdAccuracy < best.accuracy - maxDrop || (floor !== undefined && pgdAccuracy < floor && best.accuracy >= floor));
      if (best !== undefined && collapsed) {
        await restoreCheckpoint(best.checkpoint, { model, optimizer });
        return { pgdAccuracy, examples: heldOut.size, attack, bestEpoch: best.epoch, bestAccuracy: best.accuracy, rolledBackTo: best.epoch };
      }
      // Ties go to the later epoch: as robust, and further trained.
      if (best === undefined || pgdAccuracy >= best.accuracy) {
        best = { epoch, accuracy: pgdAccuracy, checkpoint: await serializeCheckpoint({ model, optimizer, epoch, rngState: rng.state() }) };
      }
      return { pgdAccuracy, examples: heldOut.size, attack, bestEpoch: best.epoch, bestAccuracy: best.accuracy };
    },
  };
}

async function heldOutPgdAccuracy(
  model: tf.LayersModel,
  heldOut: Dataset,
  attack: OverfittingGuardReport['attack'],
  batchSize: number,
): Promise<number> {
  const logitsModel = asLogitsModel(model);
  let robust = 0;
  let batchIndex = 0;
  for (const { indices } of sequentialBatches(heldOut, batchSize)) {
    const { x, y } = makeBatch(heldOut, indices);
    try {
      const count = tf.tidy(() => {
        const xAdv = craftPgd({ ...attack, model: logitsModel, inputs: x, labels: y, seed: attack.seed + batchIndex });
        const clean = tf.equal(predictLabels({ model: logitsModel, inputs: x }), y);
        const adversarial = tf.equal(predictLabels({ model: logitsModel, inputs: xAdv }), y);
        return tf.sum(tf.cast(tf.logicalAnd(clean, adversarial), 'int32'));
      });
      robust += (await count.data())[0];
      count.dispose();
    } finally {
      tf.dispose([x, y]);
    }
    batchIndex += 1;
    await yieldToEventLoop();
  }
  return robust / heldOut.size;
}

/**
 * Splits `count` seeded examples off a training set for the guard: train on `train`,
 * guard on `heldOut`. Same seeded shuffle as `validationSplit`.
 */
export function carveHeldOut(train: Dataset, { count, seed }: { count: number; seed: number }): { train: Dataset; heldOut: Dataset } {
  if (!(Number.isInteger(count) && count >= 1 && count < train.size)) {
    throw new Error(`held-out count must be an integer in [1, ${train.size - 1}], got ${count}`);
  }
  const { train: rest, validation } = validationSplit(train, { validationFraction: count / train.size, seed });
  return { train: rest, heldOut: validation };
}
