import type { DetectionPoint, DetectionResult, DetectorDescription, EvaluationRunSpec } from '@bulwark/spec';
import type { DetectionEvaluation } from '@bulwark/evaluation';

export interface DetectionResultInput {
  validation: { n: number; seed: number };
  /** The fitted detectors, in the spec's order. */
  detectors: DetectorDescription[];
  /** Per ε > 0, ascending: evaluateDetection's evaluations, one per detector in the same order. */
  perEpsilon: DetectionEvaluation[][];
}

/** evaluateDetection's results regrouped per detector, as `result.detection` stores them (counts as measured). */
export function detectionResult({ validation, detectors, perEpsilon }: DetectionResultInput): DetectionResult {
  return {
    validation: { n: validation.n, split: 'train', seed: validation.seed },
    detectors: detectors.map((description, k) => {
      return {
        detector: description,
        points: perEpsilon.map((evaluations): DetectionPoint => {
          const e = evaluations[k];
          if (e.detector.kind !== description.kind) throw new Error(`detection results out of order: ${e.detector.kind} where ${description.kind} belongs`);
          return {
            epsilon: e.epsilon,
            n: e.n,
            cleanCorrect: e.cleanCorrect,
            cleanAccepted: e.cleanAccepted,
            cleanFalsePositiveRate: e.cleanFalsePositiveRate,
            outcomes: e.outcomes.map(({ attack, fooled, detected, detectionRate, rocAuc, stackRobust, details }) => ({
              attack,
              fooled,
              detected,
              detectionRate,
              rocAuc,
              stackRobust,
              details,
            })),
            worstCase: { stackRobust: e.worstCase.stackRobust, attacks: [...e.worstCase.attacks] },
          };
        }),
      };
    }),
  };
}

/**
 * The share of an evaluation's progress bar the robustness curve takes when detectors follow
 * it, in attack runs over the test subset: each attack at each ε > 0 (twice behind a defense,
 * naive and adaptive) for the curve; each attack once (judged by every detector) plus one
 * detector-aware attack per detector at each ε > 0 for the detectors.
 */
export function curveShare(spec: Pick<EvaluationRunSpec, 'epsilons' | 'attacks' | 'defense' | 'detectors'>): number {
  const radii = spec.epsilons.filter((e) => e > 0).length;
  const detectors = spec.detectors?.length ?? 0;
  const curve = spec.attacks.length * radii * (spec.defense ? 2 : 1);
  const detection = detectors ? (spec.attacks.length + detectors) * radii : 0;
  return curve + detection === 0 ? 1 : curve / (curve + detection);
}
