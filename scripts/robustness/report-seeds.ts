import type { ReportRow } from './report-rows';

/**
 * One table measurement (dataset, model, defense, ε, attack) pooled over the seeds its training
 * ran at: a plan entry's row and its replicas' (plan.ts, REPLICA_SEEDS). A defense trained at
 * one seed is a group of one, whose means are its row's figures.
 */
export interface SeedGroup {
  dataset: string;
  model: string;
  defense: string;
  epsilon: number;
  attack: string;
  /** Examples per row (the same seeded subset for every seed). */
  n: number;
  /** In seed order. */
  rows: ReportRow[];
  seeds: number[];
  clean: number;
  robust: number;
  /** Sample standard deviation of the robust accuracy over the seeds (0 for one seed). */
  robustSd: number;
  trainSeconds: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function sampleSd(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** The table rows (not the curve-only points) pooled over seeds, in the order of their first row. */
export function poolSeeds(rows: ReportRow[]): SeedGroup[] {
  const groups = new Map<string, ReportRow[]>();
  for (const row of rows.filter((r) => !r.curveOnly)) {
    const key = JSON.stringify([row.dataset, row.model, row.defense, row.epsilon, row.attack]);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((members) => {
    const sorted = [...members].sort((a, b) => a.seed - b.seed);
    const seeds = sorted.map((r) => r.seed);
    if (new Set(seeds).size !== seeds.length) {
      throw new Error(`report: two rows of ${sorted[0].defense} (${sorted[0].attack}, ε ${sorted[0].epsilon}) at the same seed`);
    }
    const [first] = sorted;
    return {
      dataset: first.dataset,
      model: first.model,
      defense: first.defense,
      epsilon: first.epsilon,
      attack: first.attack,
      n: first.n,
      rows: sorted,
      seeds,
      clean: mean(sorted.map((r) => r.clean)),
      robust: mean(sorted.map((r) => r.robust)),
      robustSd: sampleSd(sorted.map((r) => r.robust)),
      trainSeconds: Math.round(mean(sorted.map((r) => r.trainSeconds))),
    };
  });
}
