/**
 * The demo's client side: submits a plainly trained and an FGSM-adversarially trained MLP with
 * the same data, seed and budget over the API, follows both to the end, and prints their clean
 * and FGSM test accuracy side by side. Usage: BULWARK_API_KEY=<key> node dist/scripts/demo-client.js [apiBaseUrl]
 */
import { apiClient } from './lib/api-client';

const base = process.argv.at(2) ?? process.env.BULWARK_API ?? 'http://127.0.0.1:3000';

interface RunView {
  id: string;
  kind: string;
  status: string;
  progress: number;
  error: string | null;
  backend: { name: string; threads: number; tfjsVersion: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
}

const api = apiClient(base);

const common = { dataset: 'mnist', model: 'mlp', epochs: 2, batchSize: 64, seed: 1, attack: { name: 'fgsm', epsilon: 0.1 } };

async function follow(run: RunView, label: string): Promise<RunView> {
  let lastShown = '';
  for (;;) {
    const now = await api<RunView>('GET', `/runs/${run.id}`);
    const line = `${label}: ${now.status} ${Math.floor(now.progress * 10) * 10}%`;
    if (line !== lastShown) console.log(line);
    lastShown = line;
    if (['succeeded', 'failed', 'cancelled'].includes(now.status)) return now;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function finalMetric(runId: string, key: string): Promise<number> {
  const { items } = await api<{ items: { step: number; value: number }[] }>('GET', `/runs/${runId}/metrics?key=${key}`);
  if (!items.length) throw new Error(`run ${runId} has no ${key} metric`);
  return items[items.length - 1].value;
}

function runSeconds(run: RunView): number {
  if (run.startedAt === null || run.finishedAt === null) throw new Error(`run ${run.id} ended without start and finish times`);
  return (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
}

async function main(): Promise<void> {
  // Idempotency keys make a re-run of the demo show the stored runs instead of training again.
  const plain = await api<RunView>('POST', '/runs', { ...common, kind: 'train' }, { 'Idempotency-Key': 'demo-v2-plain' });
  const robust = await api<RunView>('POST', '/runs', { ...common, kind: 'adversarial-training' }, { 'Idempotency-Key': 'demo-v2-fgsm-at' });
  const budget = `${common.epochs} epochs, batch ${common.batchSize}, seed ${common.seed}`;
  console.log(`submitted ${plain.id} (train) and ${robust.id} (adversarial-training): MLP on the MNIST digits, ${budget}`);

  const done = [await follow(plain, 'plain training      '), await follow(robust, 'FGSM adversarial training')];
  for (const run of done) {
    if (run.status !== 'succeeded') throw new Error(`run ${run.id} ended ${run.status}: ${run.error ?? ''}`);
  }

  const rows = await Promise.all(
    done.map(async (run) => ({
      run,
      clean: await finalMetric(run.id, 'test_clean_accuracy'),
      fgsm: await finalMetric(run.id, 'test_fgsm_accuracy'),
      n: await finalMetric(run.id, 'test_examples'),
      seconds: runSeconds(run),
    })),
  );
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(8);
  console.log('');
  const backend = done[0].backend;
  const backendText = backend === null ? 'unknown' : `${backend.name} (${backend.threads} thread(s), tfjs ${backend.tfjsVersion})`;
  console.log(`Test split: ${rows[0].n} held-out MNIST digits (seeded), FGSM at L∞ ε = ${common.attack.epsilon}; backend ${backendText}`);
  console.log('model                      clean      FGSM   train s   run id');
  for (const { run, clean, fgsm, seconds } of rows) {
    const name = run.kind === 'train' ? 'MLP, plain training      ' : 'MLP, FGSM adv. training  ';
    console.log(`${name} ${pct(clean)}  ${pct(fgsm)}  ${seconds.toFixed(0).padStart(7)}   ${run.id}`);
  }
  console.log('');
  console.log('FGSM is a weak, single-step attack: these figures are upper bounds on robustness, not certificates.');
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
