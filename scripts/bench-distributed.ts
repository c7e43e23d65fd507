/**
 * What adding workers buys one run, through the real API, queues and stores:
 *
 *   npm run bench:distributed -- [--workers 1,2] [--examples 2048] [--train-fraction 0.5] [--shards <max workers>] [--skip-reference]
 *
 * On one machine, with W worker processes for each W of --workers (default 1 and 2), it times
 * (a) a robustness evaluation of one cnn-small checkpoint with the standard suite on the same
 * examples (run start to finish: the shards' attacks, the merge and storing the curve) and
 * (b) a data-parallel PGD-10 adversarial-training run of cnn-small (mean wall time of an
 * optimizer step, batch 128, from its dp_step_seconds metric: crafting, gradients, exchange,
 * reduce and update; the epoch-end test evaluation is not a step), each after a warm-up that
 * starts every worker's job processes. Both runs must end with
 * the same result whatever W: the benchmark checks the curve and the checkpoint's sha256.
 * It then times the PyTorch reference step (../shared/reference/torch-at-step.py cnn 2 pgd10,
 * when that file and Debian's python3-torch exist) and prints the ratios.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { apiClient, type ApiCall } from './lib/api-client';
import { startLocalCluster } from './bench/local-cluster';

const REFERENCE_SCRIPT = resolve(__dirname, '..', '..', '..', 'shared', 'reference', 'torch-at-step.py');
const PYTHON = '/usr/bin/python3';
const EPSILON = 0.1;

interface Options {
  workers: number[];
  examples: number;
  trainFraction: number;
  shards: number;
  reference: boolean;
  port: number;
}

interface RunView {
  id: string;
  status: string;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Measured {
  workers: number;
  evaluationSeconds: number;
  curve: string;
  stepSeconds: number;
  shardComputeSeconds: number;
  transferSeconds: number;
  bytesPerStep: number;
  checkpoint: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { workers: [1, 2], examples: 2048, trainFraction: 0.5, shards: 0, reference: true, port: 39_870 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => argv.at(++i) ?? '';
    const positive = (text: string) => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} takes positive integers, got "${text}"`);
      return n;
    };
    if (arg === '--workers') options.workers = value().split(',').map(positive);
    else if (arg === '--examples') options.examples = positive(value());
    else if (arg === '--shards') options.shards = positive(value());
    else if (arg === '--train-fraction') options.trainFraction = Number(value());
    else if (arg === '--port') options.port = positive(value());
    else if (arg === '--skip-reference') options.reference = false;
    else throw new Error(`unknown option ${arg}`);
  }
  // One shard per worker at the largest count: the biggest shards, which wasm computes most efficiently.
  if (options.shards === 0) options.shards = Math.max(...options.workers);
  if (!options.workers.includes(1)) throw new Error('--workers must include 1: every ratio is against one worker');
  if (!(options.trainFraction >= 0.5 && options.trainFraction <= 0.95)) throw new Error('--train-fraction must be in [0.5, 0.95]');
  return options;
}

async function finished(api: ApiCall, id: string): Promise<RunView> {
  for (;;) {
    const run = await api<RunView>('GET', `/runs/${id}`);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) {
      if (run.status !== 'succeeded') throw new Error(`run ${id} ended ${run.status}: ${run.error ?? ''}`);
      return run;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const seconds = (run: RunView) => (Date.parse(run.finishedAt ?? '') - Date.parse(run.startedAt ?? '')) / 1000;

async function metric(api: ApiCall, runId: string, key: string): Promise<number> {
  const { items } = await api<{ items: { value: number }[] }>('GET', `/runs/${runId}/metrics?key=${key}`);
  const value = items.at(-1)?.value;
  if (value === undefined) throw new Error(`run ${runId} has no ${key} metric`);
  return value;
}

async function measure(api: ApiCall, workers: number, baseRunId: string, options: Options): Promise<Measured> {
  // The standard suite with shortened iteration counts, so the single-worker run takes minutes, not an hour.
  const evaluation = await api<RunView>('POST', '/evaluations', {
    runId: baseRunId,
    epsilons: [EPSILON],
    suite: 'standard',
    examples: options.examples,
    seed: 11,
    galleryPerEpsilon: 4,
    params: { pgd: { steps: 10 }, apgd: { steps: 20 }, apgdTargeted: { steps: 20, targetClasses: 3 }, square: { queries: 100 } },
  });
  const evaluated = await finished(api, evaluation.id);
  const view = await api<{ curve: unknown }>('GET', `/evaluations/${evaluation.id}`);

  const training = await api<RunView>('POST', '/runs', {
    kind: 'adversarial-training',
    dataset: 'mnist',
    model: 'cnn-small',
    attack: { name: 'fgsm', epsilon: EPSILON },
    // The reference step: PGD-10, step ε/4, random start, Adam on the adversarial batch alone.
    method: { name: 'pgd', epsilon: EPSILON, steps: 10, stepSize: EPSILON / 4, randomStart: true, adversarialWeight: 1 },
    epochs: 1,
    batchSize: 128,
    seed: 5,
    testFraction: 1 - options.trainFraction,
    dataParallel: { shards: options.shards },
  });
  await finished(api, training.id);
  const checkpoints = await api<{ items: { sha256: string }[] }>('GET', `/runs/${training.id}/checkpoints`);
  return {
    workers,
    evaluationSeconds: seconds(evaluated),
    curve: JSON.stringify(view.curve),
    stepSeconds: await metric(api, training.id, 'dp_step_seconds'),
    shardComputeSeconds: await metric(api, training.id, 'dp_shard_compute_seconds'),
    transferSeconds: (await metric(api, training.id, 'dp_shard_transfer_seconds')) + (await metric(api, training.id, 'dp_trainer_transfer_seconds')),
    bytesPerStep: await metric(api, training.id, 'dp_bytes_per_step'),
    checkpoint: checkpoints.items.at(-1)?.sha256 ?? '',
  };
}

/**
 * A worker's job processes start on their first job (TensorFlow.js, the dataset, the model):
 * seconds that a cluster pays once, not per run. Give every worker a shard of each kind first,
 * so the timed runs measure the cluster as it runs, warm.
 */
async function warmUp(api: ApiCall, workers: number, baseRunId: string): Promise<void> {
  const evaluation = await api<RunView>('POST', '/evaluations', {
    runId: baseRunId,
    epsilons: [EPSILON],
    suite: 'custom',
    attacks: ['fgsm'],
    examples: 256 * workers,
    seed: 1,
  });
  const training = await api<RunView>('POST', '/runs', {
    kind: 'train',
    dataset: 'mnist',
    model: 'mlp',
    epochs: 1,
    batchSize: 1000,
    seed: 1,
    testFraction: 0.5,
    dataParallel: { shards: 2 * workers },
  });
  await finished(api, evaluation.id);
  await finished(api, training.id);
}

/**
 * The PyTorch step at 2 threads, or why it was not measured. Debian's OpenBLAS starts its own
 * threads under PyTorch's, which oversubscribes the cores: the faster of the default and
 * OPENBLAS_NUM_THREADS=1 is PyTorch at its best, the only fair reference.
 */
function torchReference(): { msPerStep: number; lines: string[] } | { skipped: string } {
  if (!existsSync(REFERENCE_SCRIPT)) return { skipped: `${REFERENCE_SCRIPT} is not there` };
  const blas = spawnSync('update-alternatives', ['--display', 'libblas.so.3-x86_64-linux-gnu'], { encoding: 'utf8' });
  if (!/openblas/.test(blas.stdout)) {
    const why = 'libblas.so.3 does not point to OpenBLAS (apt-get install libopenblas0-pthread)';
    return { skipped: `${why}: a ratio against the reference BLAS flatters Bulwark` };
  }
  const measured: { ms: number; line: string }[] = [];
  for (const env of [{}, { OPENBLAS_NUM_THREADS: '1' }]) {
    const run = spawnSync(PYTHON, [REFERENCE_SCRIPT, 'cnn', '2', 'pgd10'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
    const match = /([\d.]+) ms per step/.exec(run.stdout);
    if (run.status !== 0 || !match) return { skipped: `the reference failed: ${(run.stderr || run.stdout).trim().split('\n').at(-1) ?? ''}` };
    measured.push({ ms: Number(match[1]), line: `${run.stdout.trim()} (${Object.keys(env).length ? 'OPENBLAS_NUM_THREADS=1' : 'OpenBLAS default threads'})` });
  }
  return { msPerStep: Math.min(...measured.map((m) => m.ms)), lines: measured.map((m) => m.line) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const workerCounts = [...new Set(options.workers)].sort((a, b) => a - b);
  console.log(
    `bench:distributed on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load ${loadavg()[0].toFixed(2)}; workers ${workerCounts.join(', ')}`,
  );
  const cluster = await startLocalCluster({ workers: 1, port: options.port });
  const results: Measured[] = [];
  try {
    const api = apiClient(cluster.base, cluster.key);
    const base = await api<RunView>('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'cnn-small', epochs: 1, batchSize: 128, seed: 1 });
    await finished(api, base.id);
    for (const workers of workerCounts) {
      while (cluster.workers < workers) await cluster.addWorker();
      await warmUp(api, workers, base.id);
      const measured = await measure(api, workers, base.id, options);
      results.push(measured);
      console.log(
        `  ${workers} worker(s): evaluation ${measured.evaluationSeconds.toFixed(1)} s; pgd-at step ${(measured.stepSeconds * 1000).toFixed(0)} ms ` +
          `(shard compute ${(measured.shardComputeSeconds * 1000).toFixed(0)} ms summed, exchange ${(measured.transferSeconds * 1000).toFixed(0)} ms, ` +
          `${(measured.bytesPerStep / 1e6).toFixed(1)} MB through Redis)`,
      );
    }
  } finally {
    await cluster.stop();
  }

  const one = results[0];
  for (const other of results.slice(1)) {
    if (other.curve !== one.curve) throw new Error(`the evaluation with ${other.workers} workers gave another curve than with 1`);
    if (other.checkpoint !== one.checkpoint) throw new Error(`the training run with ${other.workers} workers ended with another checkpoint than with 1`);
  }
  console.log(`same curve and same checkpoint (sha256 ${one.checkpoint.slice(0, 12)}) with ${workerCounts.join(', ')} workers`);
  for (const other of results.slice(1)) {
    const evaluation = one.evaluationSeconds / other.evaluationSeconds;
    const training = one.stepSeconds / other.stepSeconds;
    console.log(`evaluation ${other.workers} workers vs 1: ${evaluation.toFixed(2)}x (efficiency ${((100 * evaluation) / other.workers).toFixed(0)}%)`);
    console.log(`pgd-at ${other.workers} workers vs 1: ${training.toFixed(2)}x (efficiency ${((100 * training) / other.workers).toFixed(0)}%)`);
  }
  const two = results.find((r) => r.workers === 2);
  if (two && options.reference) {
    const torch = torchReference();
    if ('skipped' in torch) console.log(`pgd-at 2 workers vs PyTorch 2 threads: not measured (${torch.skipped})`);
    else {
      for (const line of torch.lines) console.log(`  reference: ${line}`);
      console.log(
        `pgd-at 2 workers vs PyTorch 2 threads: ${(torch.msPerStep / (two.stepSeconds * 1000)).toFixed(2)}x ` +
          `(${(two.stepSeconds * 1000).toFixed(0)} ms vs ${torch.msPerStep.toFixed(0)} ms per step of 128)`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench:distributed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
