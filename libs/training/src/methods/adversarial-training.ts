/**
 * Adversarial-training methods as plain data (no tfjs here; their names are the spec's
 * TRAINING_METHODS). Every method trains against an L∞ threat model of radius `epsilon` in input space
 * [0,1]. Step sizes default to multiples of ε; during an ε warm-up every step size scales
 * with the warmed ε (an explicit `stepSize` is the one at full ε).
 */
import { TRAINING_METHODS } from '@bulwark/spec';

/**
 * ε ramps linearly from ε/K at the first minibatch to ε at minibatch K and stays there:
 * ε_t = ε · min(1, (t + 1) / K) for the run's t-th minibatch (0-based, minibatches of
 * earlier epochs included). K = `length` minibatches, or `length` × minibatches per epoch.
 * Free adversarial training's replays of one minibatch share its ε.
 */
export interface EpsilonWarmup {
  unit: 'epochs' | 'batches';
  length: number;
}

interface MethodBase {
  /** L∞ radius in input space [0,1]. */
  epsilon: number;
  epsilonWarmup?: EpsilonWarmup;
}

/**
 * Weight w of the adversarial loss in (1 − w)·CE(x) + w·CE(x'), Goodfellow et al.'s α
 * mixing (their α = 1 − w). At w = 1 only the adversarial batch goes through the model.
 */
interface Mixed {
  adversarialWeight?: number;
}

/**
 * Goodfellow, Shlens & Szegedy 2015, "Explaining and harnessing adversarial examples":
 * x' = clip(x + ε·sign(∇x CE), 0, 1) against the current weights; default w = 0.5, which is
 * their objective and this project's original FGSM training (one batch of clean ++ adversarial).
 */
export interface FgsmTraining extends MethodBase, Mixed {
  method: 'fgsm';
}

/**
 * Wong, Rice & Kolter 2020, "Fast is better than free: revisiting adversarial training":
 * FGSM from a uniform random start δ₀ ~ U[−ε, ε], step α (default 1.25ε), projected onto the
 * ε-ball and [0,1]; trains on the adversarial batch (default w = 1). Pair it with the
 * catastrophic-overfitting guard and a cyclic learning rate, as the paper does.
 */
export interface FgsmRsTraining extends MethodBase, Mixed {
  method: 'fgsm-rs';
  stepSize?: number;
}

/**
 * Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks": PGD-k
 * (default k = 10, step 2.5ε/k, random start) against the current weights; trains on the
 * adversarial batch (default w = 1).
 */
export interface PgdTraining extends MethodBase, Mixed {
  method: 'pgd';
  steps?: number;
  stepSize?: number;
  randomStart?: boolean;
}

/**
 * Zhang et al. 2019, "Theoretically principled trade-off between robustness and accuracy":
 * loss = mean_i [ CE(f(xᵢ), yᵢ) + β·KL(softmax f(xᵢ) ‖ softmax f(x'ᵢ)) ], x' maximising the KL
 * by PGD (default 10 steps of 2.5ε/steps) from x + 0.001·N(0, 1). Default β = 6, the paper's.
 */
export interface TradesTraining extends MethodBase {
  method: 'trades';
  beta?: number;
  steps?: number;
  stepSize?: number;
}

/**
 * Shafahi et al. 2019, "Adversarial training for free!": every minibatch is replayed m times
 * (default 8, the paper's); each replay takes one backward pass that gives both the weight
 * gradient (one optimizer step on clip(x + δ, 0, 1)) and the input gradient (δ ← clip(δ +
 * stepSize·sign(∇δ), −ε, ε), default stepSize = ε). δ carries over from replay to replay and
 * from minibatch to minibatch, but starts at 0 in every epoch: a checkpoint, taken at epoch
 * ends, then holds everything the next epoch needs.
 *
 * Counting: an epoch is one pass over the training set, i.e. m optimizer steps per minibatch.
 * The paper keeps the gradient budget of N natural epochs by running N/m epochs: ask for
 * ⌈N/m⌉ epochs. Learning-rate schedules count optimizer steps (m per minibatch).
 */
export interface FreeTraining extends MethodBase {
  method: 'free';
  replays?: number;
  stepSize?: number;
}

export type AdversarialTraining = FgsmTraining | FgsmRsTraining | PgdTraining | TradesTraining | FreeTraining;
export type AdversarialTrainingMethodName = AdversarialTraining['method'];

/** Every hyperparameter with its default filled in: what a run should store. */
export type ResolvedAdversarialTraining =
  | (Required<Omit<FgsmTraining, 'epsilonWarmup'>> & { epsilonWarmup?: EpsilonWarmup })
  | (Required<Omit<FgsmRsTraining, 'epsilonWarmup'>> & { epsilonWarmup?: EpsilonWarmup })
  | (Required<Omit<PgdTraining, 'epsilonWarmup'>> & { epsilonWarmup?: EpsilonWarmup })
  | (Required<Omit<TradesTraining, 'epsilonWarmup'>> & { epsilonWarmup?: EpsilonWarmup })
  | (Required<Omit<FreeTraining, 'epsilonWarmup'>> & { epsilonWarmup?: EpsilonWarmup });

/** Validates and fills in the defaults; throws naming the offending field. */
export function resolveAdversarialTraining(options: AdversarialTraining): ResolvedAdversarialTraining {
  const fail = (message: string): never => {
    throw new Error(`adversarial training (${String((options as { method?: unknown }).method)}): ${message}`);
  };
  const { epsilon } = options;
  if (!(typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon >= 0 && epsilon <= 1)) {
    fail(`epsilon must be in [0, 1], got ${String(epsilon)}`);
  }
  const warmup = options.epsilonWarmup;
  if (warmup !== undefined && (!(['epochs', 'batches'] as const).includes(warmup.unit) || !Number.isInteger(warmup.length) || warmup.length < 1)) {
    fail(`epsilonWarmup must be { unit: 'epochs' | 'batches', length: positive integer }, got ${JSON.stringify(warmup)}`);
  }
  const withWarmup = warmup === undefined ? {} : { epsilonWarmup: { unit: warmup.unit, length: warmup.length } };
  const weight = (value: number | undefined, fallback: number) => {
    const w = value ?? fallback;
    if (!(Number.isFinite(w) && w > 0 && w <= 1)) fail(`adversarialWeight must be in (0, 1], got ${w}`);
    return w;
  };
  const count = (name: string, value: number | undefined, fallback: number) => {
    const n = value ?? fallback;
    if (!(Number.isInteger(n) && n >= 1)) fail(`${name} must be a positive integer, got ${n}`);
    return n;
  };
  const stepSize = (value: number | undefined, fallback: number) => {
    const s = value ?? fallback;
    // ε = 0 (a sanity run) gives a default step of 0, which is harmless; an explicit one must move.
    if (!(Number.isFinite(s) && s >= 0 && (s > 0 || value === undefined))) fail(`stepSize must be a finite number > 0, got ${s}`);
    return s;
  };

  switch (options.method) {
    case 'fgsm':
      return { method: 'fgsm', epsilon, adversarialWeight: weight(options.adversarialWeight, 0.5), ...withWarmup };
    case 'fgsm-rs':
      return {
        method: 'fgsm-rs',
        epsilon,
        stepSize: stepSize(options.stepSize, 1.25 * epsilon),
        adversarialWeight: weight(options.adversarialWeight, 1),
        ...withWarmup,
      };
    case 'pgd': {
      const steps = count('steps', options.steps, 10);
      return {
        method: 'pgd',
        epsilon,
        steps,
        stepSize: stepSize(options.stepSize, (2.5 * epsilon) / steps),
        randomStart: options.randomStart ?? true,
        adversarialWeight: weight(options.adversarialWeight, 1),
        ...withWarmup,
      };
    }
    case 'trades': {
      const steps = count('steps', options.steps, 10);
      const beta = options.beta ?? 6;
      if (!(Number.isFinite(beta) && beta >= 0)) fail(`beta must be a finite number >= 0, got ${beta}`);
      return { method: 'trades', epsilon, beta, steps, stepSize: stepSize(options.stepSize, (2.5 * epsilon) / steps), ...withWarmup };
    }
    case 'free':
      return {
        method: 'free',
        epsilon,
        replays: count('replays', options.replays, 8),
        stepSize: stepSize(options.stepSize, epsilon),
        ...withWarmup,
      };
    default:
      return fail(`unknown method; expected one of ${TRAINING_METHODS.join(', ')}`);
  }
}

/** The warmed ε of the run's t-th minibatch (0-based), per `EpsilonWarmup`. */
export function warmedEpsilon(epsilon: number, warmup: EpsilonWarmup | undefined, batchIndex: number, batchesPerEpoch: number): number {
  if (warmup === undefined) return epsilon;
  const length = warmup.unit === 'epochs' ? warmup.length * batchesPerEpoch : warmup.length;
  return batchIndex + 1 >= length ? epsilon : (epsilon * (batchIndex + 1)) / length;
}
