import * as tf from '@tensorflow/tfjs';
import { craftFgsm, craftPgd, predictLabels } from '@bulwark/attacks';
import { asLogitsModel, restoreCheckpoint, serializeCheckpoint } from '@bulwark/models';
import { makeBatch, sequentialBatches, validationSplit, type Dataset, type Rng } from '@bulwark/data';
import { yieldToEventLoop } from '@bulwark/tfjs-runtime';
import { DEFAULT_EVAL_BATCH_SIZE } from '@bulwark/evaluation';

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
 * After every epoch the guard measures PGD and FGSM accuracy on a fixed held-out set; when PGD
 * accuracy collapses (a drop from the best epoch, or a gap below FGSM accuracy) it restores
 * the weights and optimizer state of the best epoch so far, if there is one.
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
   * Also a collapse, when set: FGSM accuracy more than this above PGD accuracy (a fraction),
   * Wong et al.'s signature. Needs no best epoch, so it catches a run that overfits from its
   * first epoch, where there is never a drop from a good epoch to see. Off by default: early in
   * large-ε training the gap is wide and can close again. Measured: FGSM-RS on MNIST at ε 0.3
   * (α 0.375, one-cycle rate 0.005) had held-out FGSM 0.80 vs PGD 0.12 after epoch 2, then PGD
   * 0.69 by epoch 8; with a gap of 0.4 the same run stopped at epoch 2.
   */
  maxGap?: number;
  /**
   * After a collapse: 'stop' (default) ends the run, Wong et al.'s early stopping; the
   * collapsed epoch counts as done and its checkpoint holds the best epoch's state (or, when
   * there was no best epoch to roll back to, its own). 'continue' trains on from the restored
   * weights (the RNG is not rewound: later epochs see new shuffles and random starts, not a
   * replay of the collapse).
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
  /**
   * The same, in the same pass, against FGSM: one step of size `attack.epsilon` from the clean
   * input, no random start. Far above `pgdAccuracy` is the mark of catastrophic overfitting.
   */
  fgsmAccuracy: number;
  /** n: the held-out set's size. */
  examples: number;
  /** The measuring PGD, in full. */
  attack: { norm: 'linf'; epsilon: number; steps: number; stepSize: number; randomStart: true; seed: number };
  /**
   * Best epoch so far and its PGD accuracy, this one included (a collapsed epoch never is);
   * absent while every guarded epoch has collapsed.
   */
  bestEpoch?: number;
  bestAccuracy?: number;
  /**
   * Present when this epoch collapsed, and why: 'drop' (more than maxDrop below the best
   * epoch), 'floor' (below the floor), 'gap' (more than maxGap below FGSM accuracy).
   */
  collapse?: 'drop' | 'floor' | 'gap';
  /**
   * Present when this epoch collapsed and there was a best epoch to return to: the model and
   * optimizer now hold epoch `rolledBackTo`'s state. A collapse without it kept its weights.
   */
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
  const { maxGap } = options;
  const { floor, heldOut } = options;
  const onCollapse = options.onCollapse ?? 'stop';
  if (heldOut.size === 0) throw new Error('overfitting guard: the held-out set is empty');
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`overfitting guard: steps must be a positive integer, got ${steps}`);
  if (!(Number.isFinite(stepSize) && stepSize > 0)) throw new Error(`overfitting guard: stepSize must be > 0, got ${stepSize}`);
  if (!(maxDrop > 0 && maxDrop <= 1)) throw new Error(`overfitting guard: maxDrop must be in (0, 1], got ${maxDrop}`);
  if (maxGap !== undefined && !(maxGap > 0 && maxGap <= 1)) throw new Error(`overfitting guard: maxGap must be in (0, 1], got ${maxGap}`);
  if (floor !== undefined && !(floor >= 0 && floor <= 1)) throw new Error(`overfitting guard: floor must be in [0, 1], got ${floor}`);
  if (!(['stop', 'continue'] as const).includes(onCollapse)) throw new Error(`overfitting guard: onCollapse must be 'stop' or 'continue', got ${onCollapse}`);
  const attack = { norm: 'linf' as const, epsilon, steps, stepSize, randomStart: true as const, seed };
  let best = options.best === undefined ? undefined : { ...options.best };

  return {
    onCollapse,
    async afterEpoch({ model, optimizer, epoch, rng }) {
      const { pgdAccuracy, fgsmAccuracy } = await heldOutAccuracies(model, heldOut, attack, evalBatchSize);
      const measured = { pgdAccuracy, fgsmAccuracy, examples: heldOut.size, attack };
      const collapse: OverfittingGuardReport['collapse'] =
        best !== undefined && pgdAccuracy < best.accuracy - maxDrop
          ? 'drop'
          : best !== undefined && floor !== undefined && pgdAccuracy < floor && best.accuracy >= floor
            ? 'floor'
            : maxGap !== undefined && fgsmAccuracy - pgdAccuracy > maxGap
              ? 'gap'
              : undefined;
      if (collapse !== undefined) {
        // A collapse before any good epoch has nothing to restore: the caller stops or trains on.
        if (best === undefined) return { ...measured, collapse };
        await restoreCheckpoint(best.checkpoint, { model, optimizer });
        return { ...measured, bestEpoch: best.epoch, bestAccuracy: best.accuracy, collapse, rolledBackTo: best.epoch };
      }
      // Ties go to the later epoch: as robust, and further trained.
      if (best === undefined || pgdAccuracy >= best.accuracy) {
        best = { epoch, accuracy: pgdAccuracy, checkpoint: await serializeCheckpoint({ model, optimizer, epoch, rngState: rng.state() }) };
      }
      return { ...measured, bestEpoch: best.epoch, bestAccuracy: best.accuracy };
    },
  };
}

/** PGD and FGSM robust accuracy of the same held-out examples, each correct on clean AND attacked input. */
async function heldOutAccuracies(
  model: tf.LayersModel,
  heldOut: Dataset,
  attack: OverfittingGuardReport['attack'],
  batchSize: number,
): Promise<{ pgdAccuracy: number; fgsmAccuracy: number }> {
  const logitsModel = asLogitsModel(model);
  let pgdRobust = 0;
  let fgsmRobust = 0;
  let batchIndex = 0;
  for (const { indices } of sequentialBatches(heldOut, batchSize)) {
    const { x, y } = makeBatch(heldOut, indices);
    try {
      const counts = tf.tidy(() => {
        const clean = tf.equal(predictLabels({ model: logitsModel, inputs: x }), y);
        const robustCount = (xAdv: tf.Tensor) =>
          tf.sum(tf.cast(tf.logicalAnd(clean, tf.equal(predictLabels({ model: logitsModel, inputs: xAdv }), y)), 'int32'));
        const xPgd = craftPgd({ ...attack, model: logitsModel, inputs: x, labels: y, seed: attack.seed + batchIndex });
        const xFgsm = craftFgsm({ model: logitsModel, inputs: x, labels: y, epsilon: attack.epsilon, norm: 'linf' });
        return tf.stack([robustCount(xPgd), robustCount(xFgsm)]);
      });
      const [pgd, fgsm] = await counts.data();
      pgdRobust += pgd;
      fgsmRobust += fgsm;
      counts.dispose();
    } finally {
      tf.dispose([x, y]);
    }
    batchIndex += 1;
    await yieldToEventLoop();
  }
  return { pgdAccuracy: pgdRobust / heldOut.size, fgsmAccuracy: fgsmRobust / heldOut.size };
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
