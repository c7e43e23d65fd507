import type { ReportRow } from './report-rows';

export interface TargetCheck {
  target: string;
  /** null: a row it needs has not been measured. */
  met: boolean | null;
  detail: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Issue 5's targets on Fashion-MNIST, L∞ ε = 0.1, cnn-small, standard suite — checked from the rows. */
export function checkTargets(rows: ReportRow[]): TargetCheck[] {
  const find = (defense: string, attack: string) =>
    rows.find((r) => r.dataset === 'fashion-mnist' && r.model === 'cnn-small' && r.epsilon === 0.1 && !r.curveOnly && r.defense === defense && r.attack === attack);
  const missing = (target: string, ...what: string[]): TargetCheck => ({ target, met: null, detail: `not measured yet: ${what.join(', ')}` });

  const pgdAt = find('pgd-at', 'standard');
  const fgsmRs = find('fgsm-rs', 'standard');
  const none = find('none', 'standard');
  const distilled = find('distillation', 'standard-logits');
  const checks: TargetCheck[] = [];

  const t1 = 'pgd-at: robust ≥ 72% with clean ≥ 85%';
  checks.push(pgdAt
    ? { target: t1, met: pgdAt.robust >= 0.72 && pgdAt.clean >= 0.85, detail: `robust ${pct(pgdAt.robust)}, clean ${pct(pgdAt.clean)} (n = ${pgdAt.n})` }
    : missing(t1, 'pgd-at'));

  const t2 = 'fgsm-rs: within 3 points of pgd-at in at most a third of its training time';
  checks.push(pgdAt && fgsmRs
    ? {
        target: t2,
        met: fgsmRs.robust >= pgdAt.robust - 0.03 && fgsmRs.trainSeconds <= pgdAt.trainSeconds / 3,
        detail: `robust ${pct(fgsmRs.robust)} vs ${pct(pgdAt.robust)} (${((fgsmRs.robust - pgdAt.robust) * 100).toFixed(1)} points); training ${fgsmRs.trainSeconds} s vs ${pgdAt.trainSeconds} s (${(fgsmRs.trainSeconds / pgdAt.trainSeconds).toFixed(2)}×)`,
      }
    : missing(t2, ...(pgdAt ? [] : ['pgd-at']), ...(fgsmRs ? [] : ['fgsm-rs'])));

  const t3 = 'none: robust < 5%';
  checks.push(none ? { target: t3, met: none.robust < 0.05, detail: `robust ${pct(none.robust)}, clean ${pct(none.clean)}` } : missing(t3, 'none'));

  const t4 = 'distillation (adaptive): robust ≤ none + 5 points';
  checks.push(none && distilled
    ? { target: t4, met: distilled.robust <= none.robust + 0.05, detail: `adaptive ${pct(distilled.robust)} vs none ${pct(none.robust)}` }
    : missing(t4, ...(none ? [] : ['none']), ...(distilled ? [] : ['distillation (adaptive)'])));
  return checks;
}
