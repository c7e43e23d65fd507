/**
 * Detection metrics from raw scores (higher = more suspicious, rejected when above the
 * threshold), as in Xu et al. (2018) and Carlini & Wagner (2017): the detection rate at a
 * threshold fixed on clean data, and the threshold-free ROC AUC.
 */

/**
 * The threshold τ that rejects at most a fraction `fpr` of `cleanScores` (reject ⇔ score > τ):
 * the ⌈n(1 − fpr)⌉-th smallest score. Ties at τ are accepted, so the realised rate can be lower.
 */
export function thresholdAtFpr(cleanScores: ArrayLike<number>, fpr: number): number {
  if (!(fpr >= 0 && fpr < 1)) throw new Error(`fpr must be in [0, 1), got ${fpr}`);
  const sorted = finiteSorted(cleanScores, 'clean scores');
  if (sorted.length === 0) throw new Error('thresholdAtFpr: no clean scores');
  // The tolerance keeps 0.05·400 = 20.000000000000004 from counting as 20 allowed plus change.
  const allowed = Math.floor(fpr * sorted.length + 1e-9);
  return sorted[sorted.length - 1 - allowed];
}

/**
 * Area under the ROC curve of adversarial against clean scores, exactly: the Mann–Whitney
 * statistic P(adversarial > clean) + ½·P(tie), from mid-ranks of the pooled scores.
 */
export function rocAuc(cleanScores: ArrayLike<number>, adversarialScores: ArrayLike<number>): number {
  const clean = finiteSorted(cleanScores, 'clean scores');
  const adversarial = finiteSorted(adversarialScores, 'adversarial scores');
  if (clean.length === 0 || adversarial.length === 0) throw new Error('rocAuc needs at least one clean and one adversarial score');
  const pooled = [...clean.map((v) => ({ v, adversarial: false })), ...adversarial.map((v) => ({ v, adversarial: true }))].sort((a, b) => a.v - b.v);
  let rankSum = 0;
  for (let start = 0; start < pooled.length;) {
    let end = start;
    while (end + 1 < pooled.length && pooled[end + 1].v === pooled[start].v) end += 1;
    // 1-based mid-rank shared by the tied run start..end.
    const midRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i += 1) if (pooled[i].adversarial) rankSum += midRank;
    start = end + 1;
  }
  const m = adversarial.length;
  return (rankSum - (m * (m + 1)) / 2) / (m * clean.length);
}

export interface DetectionMetricsOptions {
  /** Scores of clean inputs (for the realised false-positive rate and the AUC). */
  cleanScores: ArrayLike<number>;
  /** Scores of adversarial inputs (usually those that fool the classifier). */
  adversarialScores: ArrayLike<number>;
  /** Target false-positive rate (default 0.05). */
  fpr?: number;
  /**
   * The deployed threshold, fixed on clean validation data (a fitted detector's). Absent, it
   * is set here from `cleanScores` at `fpr`, which is optimistic if these are test scores.
   */
  threshold?: number;
}

export interface DetectionMetrics {
  threshold: number;
  /** Target false-positive rate the threshold was set for. */
  targetFpr: number;
  /** Fraction of `cleanScores` above the threshold. */
  falsePositiveRate: number;
  /** Fraction of `adversarialScores` above the threshold (TPR at the fixed threshold); null with no adversarial scores. */
  detectionRate: number | null;
  /** null with no adversarial scores. */
  rocAuc: number | null;
  nClean: number;
  nAdversarial: number;
}

export function detectionMetrics({ cleanScores, adversarialScores, fpr = 0.05, threshold }: DetectionMetricsOptions): DetectionMetrics {
  const tau = threshold ?? thresholdAtFpr(cleanScores, fpr);
  const above = (scores: ArrayLike<number>) => Array.from(scores).filter((s) => s > tau).length;
  const nClean = cleanScores.length;
  const nAdversarial = adversarialScores.length;
  if (nClean === 0) throw new Error('detectionMetrics: no clean scores');
  return {
    threshold: tau,
    targetFpr: fpr,
    falsePositiveRate: above(cleanScores) / nClean,
    detectionRate: nAdversarial === 0 ? null : above(adversarialScores) / nAdversarial,
    rocAuc: nAdversarial === 0 ? null : rocAuc(cleanScores, adversarialScores),
    nClean,
    nAdversarial,
  };
}

function finiteSorted(scores: ArrayLike<number>, what: string): number[] {
  const values = Array.from(scores);
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`${what} must be finite numbers`);
  return values.sort((a, b) => a - b);
}
