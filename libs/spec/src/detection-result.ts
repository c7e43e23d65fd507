import type { DetectorKind, PreprocessingStep } from './defense.schema';
import type { EvaluationAttackName } from './evaluation-run.schema';

/**
 * What an evaluation with detectors stores under `result.detection` (run.result is jsonb), and
 * what GET /evaluations/:id returns as `detection`. Counts are stored as measured: a fraction
 * is a count over the point's `n` (or, for detection rates, over `fooled`).
 */
export interface DetectionResult {
  /** The clean examples every detector's threshold was set on: a seeded subset of the training split. */
  validation: { n: number; split: 'train'; seed: number };
  detectors: DetectorResult[];
}

export interface DetectorResult {
  detector: DetectorDescription;
  /** One per ε > 0 of the evaluation, ascending. */
  points: DetectionPoint[];
}

/** A fitted detector as @bulwark/defenses describes it and the evaluation stores it: enough to report on it and to refit it identically. */
export interface DetectorDescription {
  kind: DetectorKind;
  /** Inputs scoring above it are rejected. */
  threshold: number;
  /** The false-positive rate the threshold was set for on the validation subset. */
  targetFpr: number;
  /** The rate it gives there (≤ targetFpr; lower with ties). */
  validationFpr: number;
  validation: { name: string; n: number };
  /** Spread of the clean validation scores: the unit the detector-aware attack weighs the score in. */
  scoreScale: number;
  /** The defense's preprocessing in front of the detector's model. */
  preprocessing: PreprocessingStep[];
  /** Kind-specific settings (squeezers, feature layer, shrinkage, the statistics' subset…). */
  params: Record<string, unknown>;
}

export type DetectionAttackName = EvaluationAttackName | 'detector-aware-pgd';

export interface DetectionPoint {
  epsilon: number;
  /** Test examples measured: the evaluation's seeded test subset. */
  n: number;
  cleanCorrect: number;
  /** Correct AND not rejected on the clean input: the stack's clean accuracy is cleanAccepted / n. */
  cleanAccepted: number;
  /** Fraction of the n clean test inputs the detector rejects (its false-positive rate out of sample). */
  cleanFalsePositiveRate: number;
  /** The evaluation's attacks (unaware of the detector), then 'detector-aware-pgd'. */
  outcomes: DetectionOutcome[];
  /** Per example over every outcome: correct and accepted when clean, and no attack got a misclassified input accepted. */
  worstCase: { stackRobust: number; attacks: DetectionAttackName[] };
}

export interface DetectionOutcome {
  attack: DetectionAttackName;
  /** Adversarial inputs, on clean-correct examples, that the deployed classifier misclassifies. */
  fooled: number;
  /** Of those, rejected by the detector. */
  detected: number;
  /** detected / fooled at the fixed threshold; null when nothing fooled the classifier. */
  detectionRate: number | null;
  /** Fooling inputs' scores against the clean test scores; null when nothing fooled the classifier. */
  rocAuc: number | null;
  /** Accepted and correct when clean, and the adversarial input rejected or still correct. */
  stackRobust: number;
  /** Hyperparameters as run, the seed and seconds. */
  details: Record<string, unknown>;
}
