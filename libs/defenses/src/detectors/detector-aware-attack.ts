import * as tf from '@tensorflow/tfjs';
import { checkPerturbation, createSeededRandom, readAndDispose, type AttackResult, type LogitsModel, type PerturbationNorm } from '@bulwark/attacks';
import type { Detector } from './detector';

export interface DetectorAwarePgdOptions {
  /** The classifier as the attacker differentiates it (a defense's adaptiveView). */
  model: LogitsModel;
  /** The classifier success is judged on (the deployed model); default `model`. */
  deployed?: LogitsModel;
  detector: Detector;
  /** Batch of inputs in [0,1]. */
  inputs: tf.Tensor;
  /** int32 true classes. */
  labels: tf.Tensor1D;
  epsilon: number;
  /** Default 'linf'. */
  norm?: PerturbationNorm;
  /** Default 50. */
  steps?: number;
  /** Default 2.5·ε/steps. */
  stepSize?: number;
  /** Seeds the random start (default 0). */
  seed?: number;
  /** κ: once misclassified, the margin is only defended up to κ (default 1); the rest of the step goes to the detector. */
  confidence?: number;
  /** Weight of the detector term, in units of the detector's clean score spread (default 1). */
  detectorWeight?: number;
}

export interface DetectorAwareResult extends AttackResult {
  /** Per example, on the deployed classifier: the adversarial input is misclassified. */
  misclassified: boolean[];
  /** Per example: the detector rejects the adversarial input (exact score). */
  rejected: boolean[];
  /** Exact detector scores of the adversarial inputs. */
  scores: Float32Array;
}

/**
 * PGD against a classifier and its detector at once, on the combined objective of Carlini &
 * Wagner (2017, "Adversarial examples are not easily detected") with its terms switched per
 * example as in Bryniarski et al. (2022, selective PGD). Per example it maximises
 *   margin(x)                              while still classified correctly,
 *   min(margin(x), κ) − λ·(s(x) − τ)/σ     once misclassified but rejected,
 *   nothing (the iterate stays)            once misclassified and accepted,
 * where margin is the largest wrong logit minus the true one, s the detector's attacker-side
 * score (BPDA through squeezers), τ its threshold and σ its clean score spread. The switch
 * matters: one sum of both terms from the start lets the detector term pull inputs near the
 * decision boundary back to their class (low confidence is what detectors flag), and it
 * found fewer evasions than plain PGD against confidence thresholding in our runs.
 * Success means misclassified by the deployed model AND not rejected by the exact detector;
 * the iterate kept per example is the first that succeeded on the attacker's view, else the
 * last. Report it per example together with the detector-unaware attacks (evaluateDetection
 * does): an adaptive attack must never be credited with less than a naive one.
 */
export async function detectorAwarePgd(options: DetectorAwarePgdOptions): Promise<DetectorAwareResult> {
  const { model, detector, inputs, labels, epsilon, norm = 'linf', steps = 50, seed = 0, confidence = 1, detectorWeight = 1 } = options;
  const deployed = options.deployed ?? model;
  const stepSize = options.stepSize ?? (2.5 * epsilon) / steps;
  if (!(Number.isFinite(epsilon) && epsilon >= 0)) throw new Error(`epsilon must be a finite number >= 0, got ${epsilon}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (labels.rank !== 1 || labels.shape[0] !== inputs.shape[0]) throw new Error('detectorAwarePgd: one label per input');
  const { threshold } = detector;
  const scale = detector.describe().scoreScale;
  const batch = inputs.shape[0];

  const objective = (x: tf.Tensor) => {
    const logits = model(x);
    const classes = logits.shape[1];
    const oneHot = tf.oneHot(labels, classes);
    const trueLogit = tf.sum(tf.mul(logits, oneHot), 1);
    // A large finite offset, not −∞, keeps the max's gradient free of NaN.
    const margin = tf.sub(tf.max(tf.sub(logits, tf.mul(oneHot, 1e9)), 1), trueLogit);
    const score = detector.attackScore(x);
    // Phases per example, switched by constant 0/1 masks (the switch itself has no gradient).
    const wrong = positive(margin);
    const flagged = positive(tf.sub(score, threshold));
    const evade = tf.sub(tf.minimum(margin, confidence), tf.mul(tf.sub(score, threshold), detectorWeight / scale));
    const value = tf.add(tf.mul(tf.sub(1, wrong), margin), tf.mul(tf.mul(wrong, flagged), evade));
    return { value: value as tf.Tensor1D, margin: margin as tf.Tensor1D, score };
  };

  let x = randomStart(inputs, epsilon, norm, seed);
  let best = tf.clone(inputs);
  let found = tf.zeros<tf.Rank.R1>([batch], 'bool');
  try {
    for (let step = 0; step < steps; step += 1) {
      const next = tf.tidy(() => {
        const captured: { success?: tf.Tensor } = {};
        const gradient = tf.grad((t: tf.Tensor) => {
          const { value, margin, score } = objective(t);
          captured.success = tf.keep(tf.logicalAnd(tf.greater(margin, 0), tf.lessEqual(score, threshold)));
          return tf.sum(value);
        })(x);
        const success = captured.success;
        if (success === undefined) throw new Error('detector-aware PGD: the gradient pass computed no success flags');
        const newly = tf.logicalAnd(success, tf.logicalNot(found));
        const moved = project(inputs, tf.add(x, tf.mul(direction(gradient, norm), stepSize)), epsilon, norm);
        const result = { x: moved, best: tf.where(perExample(newly as tf.Tensor1D, x.rank), x, best), found: tf.logicalOr<tf.Tensor1D>(found, success) };
        success.dispose();
        return result;
      });
      tf.dispose([x, best, found]);
      ({ x, best, found } = next);
    }
    const adversarial = tf.tidy(() => tf.where(perExample(found, x.rank), best, x));
    tf.dispose([x, best, found]);
    return await judgeWithDetector({ deployed, detector, inputs, labels, adversarial, epsilon, norm });
  } catch (error) {
    tf.dispose([x, best, found]);
    throw error;
  }
}

/** 1 where v > 0 else 0, as a constant: no gradient flows through the switch (Greater has none in tfjs). */
const positive = tf.customGrad<tf.Tensor>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: tf.cast(tf.greater(args[0] as tf.Tensor, 0), 'float32'),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

export interface JudgeOptions {
  deployed: LogitsModel;
  detector: Detector;
  inputs: tf.Tensor;
  labels: tf.Tensor1D;
  /** Ownership passes to the result. */
  adversarial: tf.Tensor;
  epsilon: number;
  norm: PerturbationNorm;
}

/** Re-measures and re-judges adversarial inputs against a deployed classifier and detector. */
export async function judgeWithDetector({ deployed, detector, inputs, labels, adversarial, epsilon, norm }: JudgeOptions): Promise<DetectorAwareResult> {
  try {
    const judged = await judgeOnClassifier({ deployed, inputs, labels, adversarial, epsilon, norm });
    const { rejected, scores } = await detectorVerdict(detector, adversarial);
    return { adversarial, success: judged.misclassified.map((m, i) => m && !rejected[i]), ...judged, rejected, scores };
  } catch (error) {
    adversarial.dispose();
    throw error;
  }
}

export interface ClassifierJudgement {
  /** Per example: a valid perturbation (‖δ‖ ≤ ε, inside [0,1]) that the deployed classifier misclassifies. */
  misclassified: boolean[];
  linfNorms: Float32Array;
  l2Norms: Float32Array;
}

/**
 * The detector-independent half of a judgement: re-measured perturbations and the deployed
 * classifier's verdict. Adversarial inputs crafted without the detector are judged by it once
 * and then shown to any number of detectors. Leaves `adversarial` to the caller.
 */
export async function judgeOnClassifier({
  deployed,
  inputs,
  labels,
  adversarial,
  epsilon,
  norm,
}: Omit<JudgeOptions, 'detector'>): Promise<ClassifierJudgement> {
  const { valid, linfNorms, l2Norms } = await checkPerturbation({ inputs, adversarial, epsilon, norm });
  const wrong = await readAndDispose(tf.tidy(() => tf.notEqual(tf.argMax(deployed(adversarial), 1), labels)));
  const misclassified = Array.from(wrong, (v, i) => v === 1 && valid[i]);
  return { misclassified, linfNorms, l2Norms };
}

/** The detector's exact scores of `inputs` and which of them it rejects. */
export async function detectorVerdict(detector: Detector, inputs: tf.Tensor): Promise<{ rejected: boolean[]; scores: Float32Array }> {
  const scores = (await readAndDispose(detector.score(inputs))) as Float32Array;
  return { rejected: Array.from(scores, (s) => s > detector.threshold), scores };
}

function perExample(mask: tf.Tensor1D, rank: number): tf.Tensor {
  return tf.reshape(mask, [mask.shape[0], ...new Array<number>(rank - 1).fill(1)]);
}

function l2PerExample(v: tf.Tensor): tf.Tensor1D {
  return tf.sqrt(tf.sum(tf.square(tf.reshape(v, [v.shape[0], -1])), 1)) as tf.Tensor1D;
}

function direction(gradient: tf.Tensor, norm: PerturbationNorm): tf.Tensor {
  if (norm === 'linf') return tf.sign(gradient);
  return tf.div(gradient, perExample(tf.add<tf.Tensor1D>(l2PerExample(gradient), 1e-12), gradient.rank));
}

/** Onto the ε-ball around `inputs`, then [0,1]. */
function project(inputs: tf.Tensor, candidate: tf.Tensor, epsilon: number, norm: PerturbationNorm): tf.Tensor {
  return tf.tidy(() => {
    const delta = tf.sub(candidate, inputs);
    const bounded =
      norm === 'linf'
        ? tf.clipByValue(delta, -epsilon, epsilon)
        : tf.mul(delta, perExample(tf.minimum<tf.Tensor1D>(tf.div(epsilon, tf.add(l2PerExample(delta), 1e-12)), 1), delta.rank));
    return tf.clipByValue(tf.add(inputs, bounded), 0, 1);
  });
}

function randomStart(inputs: tf.Tensor, epsilon: number, norm: PerturbationNorm, seed: number): tf.Tensor {
  const tensorSeed = createSeededRandom(seed).tensorSeed();
  return tf.tidy(() => {
    if (norm === 'linf') return tf.clipByValue(tf.add(inputs, tf.randomUniform(inputs.shape, -epsilon, epsilon, 'float32', tensorSeed)), 0, 1);
    // Half the radius along a random direction: a start inside the ball, away from x.
    const noise = tf.randomNormal(inputs.shape, 0, 1, 'float32', tensorSeed);
    return project(
      inputs,
      tf.add(inputs, tf.mul(noise, perExample(tf.div<tf.Tensor1D>(epsilon / 2, tf.add(l2PerExample(noise), 1e-12)), inputs.rank))),
      epsilon,
      norm,
    );
  });
}
