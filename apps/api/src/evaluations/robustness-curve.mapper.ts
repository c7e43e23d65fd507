import type { RobustnessResult } from '@bulwark/database';
import type { CurvePointResponse } from './evaluation.response';

/** Rows of (ε, attack) → one curve point per ε, fractions with their n. */
export function toCurve(rows: RobustnessResult[]): CurvePointResponse[] {
  const byEpsilon = new Map<number, CurvePointResponse>();
  for (const row of [...rows].sort((a, b) => a.epsilon - b.epsilon)) {
    const point = byEpsilon.get(row.epsilon) ?? { epsilon: row.epsilon, n: row.n, cleanAccuracy: row.cleanCorrect / row.n, robustAccuracy: {} };
    point.robustAccuracy[row.attack] = row.robustCorrect / row.n;
    byEpsilon.set(row.epsilon, point);
  }
  return [...byEpsilon.values()];
}

/** The curve of the model as evaluated (direct, or a defense attacked naively) and, if any, the adaptive one. */
export function toCurves(rows: RobustnessResult[]): { curve: CurvePointResponse[]; adaptiveCurve: CurvePointResponse[] | null } {
  const adaptive = rows.filter((r) => r.view === 'adaptive');
  return { curve: toCurve(rows.filter((r) => r.view !== 'adaptive')), adaptiveCurve: adaptive.length ? toCurve(adaptive) : null };
}
