/**
 * Evaluates trained runs over the API with the standard suite and prints their robustness
 * curves side by side (robust accuracy = per-example worst case over FGSM, PGD, APGD-CE,
 * APGD-T and Square). Usage:
 *
 *   BULWARK_API_KEY=<key> node dist/scripts/evaluate-client.js <apiBaseUrl> <runId>[=label] ... [--epsilons 0,0.05,0.1,0.2,0.3] [--examples 1000] [--seed 0]
 */
import { apiClient } from './lib/api-client';

interface EvaluationView {
  run: {
    id: string;
    status: string;
    progress: number;
    error: string | null;
    result: { flags?: Array<{ flag: string; raised: boolean; detail: string; epsilon?: number }> } | null;
  };
  curve: Array<{ epsilon: number; n: number; cleanAccuracy: number; robustAccuracy: Record<string, number> }>;
}

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
}

async function main(): Promise<void> {
  const [base, ...rest] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (!base || !rest.length) throw new Error('usage: evaluate-client.js <apiBaseUrl> <runId>[=label] ...');
  const api = apiClient(base);
  const epsilons = argument('epsilons', '0,0.05,0.1,0.2,0.3').split(',').map(Number);
  const examples = Number(argument('examples', '1000'));
  const seed = Number(argument('seed', '0'));
  const targets = rest.map((r) => {
    const [id, label = id.slice(0, 8)] = r.split('=');
    return { id, label };
  });

  const evaluations = [];
  for (const t of targets) {
    const run = await api<{ id: string }>('POST', '/evaluations', { runId: t.id, epsilons, examples, seed, suite: 'standard' });
    console.log(`evaluating ${t.label} (run ${t.id}) as evaluation ${run.id}`);
    evaluations.push({ ...t, evaluationId: run.id });
  }
  const views: EvaluationView[] = [];
  for (const e of evaluations) {
    let shown = -1;
    for (;;) {
      const view = await api<EvaluationView>('GET', `/evaluations/${e.evaluationId}`);
      const decile = Math.floor(view.run.progress * 10);
      if (decile !== shown) console.log(`${e.label}: ${view.run.status} ${decile * 10}%`);
      shown = decile;
      if (view.run.status === 'failed' || view.run.status === 'cancelled')
        throw new Error(`evaluation ${e.evaluationId} ended ${view.run.status}: ${String(view.run.error)}`);
      if (view.run.status === 'succeeded') {
        views.push(view);
        break;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  const pct = (x: number | undefined) => (x === undefined ? '—' : `${(x * 100).toFixed(1)}%`).padStart(7);
  console.log('');
  console.log(`Robust accuracy (L∞, standard suite, worst case per example) on n = ${views[0].curve[0]?.n} seeded test examples; FGSM alone in brackets`);
  console.log(`${'ε'.padEnd(6)}${evaluations.map((e) => e.label.padStart(24)).join('')}`);
  epsilons.forEach((epsilon, i) => {
    const cells = views.map((v) => {
      const p = v.curve.at(i);
      return `${pct(p?.robustAccuracy.suite)} (${pct(p?.robustAccuracy.fgsm).trim()})`.padStart(24);
    });
    console.log(`${String(epsilon).padEnd(6)}${cells.join('')}`);
  });
  for (const [k, v] of views.entries()) {
    const raised = (v.run.result?.flags ?? []).filter((f) => f.raised);
    const names = raised.map((f) => `${f.flag}${f.epsilon !== undefined ? `@${f.epsilon}` : ''}`);
    console.log(`${evaluations[k].label}: ${names.length ? `validity flags raised: ${names.join(', ')}` : 'no validity flag raised'}`);
  }
}

main().catch((err: unknown) => {
  console.error(`evaluate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
