/**
 * Training throughput: samples/s of one optimizer step at batch 128 for {mlp, cnn-small,
 * cnn-madry} × {clean, FGSM-AT, PGD-10-AT}, on every TensorFlow.js backend that loads.
 *
 *   npm run bench:train -- [--reference [--rounds 5]] [--budget <s/step>] [--min-seconds <s>] [--backends wasm,cpu]
 *   npm run bench:train -- --profile [--model cnn-small] [--step fgsm]    (tf.profile, per kernel, on wasm)
 *
 * A step is what the PyTorch reference (../shared/reference/torch-fgsm-step.py) times: craft
 * the adversarial batch against the current weights (FGSM ε = 0.1; PGD-10 L∞ ε = 0.1, step
 * 0.025, random start), then one Adam step on the adversarial batch alone. (trainClassifier
 * trains on clean ++ adversarial, twice the rows per step.) A cell whose step would take
 * longer than --budget (predicted from warm steps at batch 2 and 8) is skipped, not run for minutes.
 * --reference runs the PyTorch script in alternation with our wasm FGSM-AT steps (mlp, then
 * cnn-small) and prints their ratios, cnn-small's last; the project never depends on PyTorch.
 */
import * as tf from '@tensorflow/tfjs';
import { craftFgsm, craftPgd, softmaxCrossEntropy } from '@bulwark/attacks';
import { applyModel, asLogitsModel, createModel, trainableVariables } from '@bulwark/models';
import { BACKEND_NAMES, type BackendName, type ModelName } from '@bulwark/spec';
import { describeAdapter, selectBackend, WASM_TRAINING_KERNELS, type BackendInfo } from '@bulwark/tfjs-runtime';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const BATCH = 128;
/** Warm steps at these batch sizes fit time = fixed + per-sample · batch, to predict batch 128. */
const PROBE_BATCHES = [2, 8] as const;
const MODELS: readonly ModelName[] = ['mlp', 'cnn-small', 'cnn-madry'];
const STEPS = ['clean', 'fgsm', 'pgd10'] as const;
type StepKind = (typeof STEPS)[number];
const STEP_LABEL: Record<StepKind, string> = { clean: 'clean step', fgsm: 'FGSM-AT step', pgd10: 'PGD-10-AT step' };
const EPSILON = 0.1;
const PGD = { steps: 10, stepSize: 0.025 };
/** Where the repository's sibling `shared/` lives: dist/scripts/ → repository root → .. */
const REFERENCE_SCRIPT = resolve(__dirname, '..', '..', '..', 'shared', 'reference', 'torch-fgsm-step.py');
const PYTHON = '/usr/bin/python3';

interface Options {
  reference: boolean;
  /** Instead of the table: a per-kernel tf.profile of one wasm step. */
  profile?: { model: ModelName; step: StepKind };
  /** Seconds per step above which a cell is skipped. */
  budget: number;
  /** Each cell times whole steps until at least this many seconds have passed (and ≥ 2 steps). */
  minSeconds: number;
  /** Alternating ours/PyTorch measurements behind each --reference ratio. */
  rounds: number;
  backends: readonly BackendName[];
}

type Cell = { samplesPerSecond: number; msPerStep: number; steps: number } | { skipped: string };

function parseOptions(argv: string[]): Options {
  const options: Options = { reference: false, budget: 15, minSeconds: 3, rounds: 5, backends: BACKEND_NAMES };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv.at(++i);
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--reference') options.reference = true;
    else if (arg === '--profile') options.profile = { model: 'cnn-small', step: 'fgsm', ...options.profile };
    else if (arg === '--model') options.profile = { step: 'fgsm', ...options.profile, model: oneOf(arg, value(), MODELS) };
    else if (arg === '--step') options.profile = { model: 'cnn-small', ...options.profile, step: oneOf(arg, value(), STEPS) };
    else if (arg === '--budget') options.budget = positive(arg, value());
    else if (arg === '--min-seconds') options.minSeconds = positive(arg, value());
    else if (arg === '--rounds') options.rounds = Math.ceil(positive(arg, value()));
    else if (arg === '--backends') {
      const names = value().split(',');
      const unknown = names.filter((n) => !(BACKEND_NAMES as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`--backends: unknown ${unknown.join(', ')}; expected some of ${BACKEND_NAMES.join(', ')}`);
      options.backends = names as BackendName[];
    } else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

function oneOf<T extends string>(name: string, text: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(text)) throw new Error(`${name} must be one of ${values.join(', ')}, got ${text}`);
  return text as T;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${text}`);
  return value;
}

/** One training step of `kind` on a fixed batch; returns the loss (the caller awaits it). */
function makeStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor4D, y: tf.Tensor1D, kind: StepKind): (seed: number) => tf.Scalar {
  const variables = trainableVariables(model);
  const logitsModel = asLogitsModel(model);
  return (seed) =>
    tf.tidy(() => {
      let inputs: tf.Tensor = x;
      if (kind === 'fgsm') inputs = craftFgsm({ model: logitsModel, inputs: x, labels: y, epsilon: EPSILON });
      if (kind === 'pgd10') inputs = craftPgd({ model: logitsModel, inputs: x, labels: y, epsilon: EPSILON, ...PGD, seed });
      const loss = optimizer.minimize(() => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, inputs, true), labels: y })), true, variables);
      if (loss === null) throw new Error('optimizer.minimize returned no loss');
      return loss;
    });
}

/** A fresh model, optimizer and fixed batch, and one step of `kind` on them. */
function setUp(name: ModelName, kind: StepKind, batch: number) {
  const model = createModel({ name, inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform<tf.Rank.R4>([batch, 28, 28, 1], 0, 1, 'float32', 2);
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, 10, 'float32', 3)), 'int32')) as tf.Tensor1D;
  const step = makeStep(model, optimizer, x, y, kind);
  const once = async (seed: number) => {
    const loss = step(seed);
    await loss.data();
    loss.dispose();
  };
  const dispose = () => {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  };
  return { once, dispose };
}

/** Runs steps of a fresh model at `batch` after `warmups`, until `until`; returns their count and seconds. */
async function runSteps(name: ModelName, kind: StepKind, batch: number, warmups: number, until: (steps: number, seconds: number) => boolean) {
  const { once, dispose } = setUp(name, kind, batch);
  try {
    for (let i = 0; i < warmups; i += 1) await once(i);
    let steps = 0;
    const started = performance.now();
    do {
      await once(warmups + steps);
      steps += 1;
    } while (!until(steps, (performance.now() - started) / 1000));
    return { steps, seconds: (performance.now() - started) / 1000 };
  } finally {
    dispose();
  }
}

/**
 * tf.profile of one warm step on wasm, summed per kernel. Entries named `…__op` are custom-
 * gradient ops whose time includes the kernels they ran (listed on their own too), so they are
 * left out of the total. The profiler's NaN check, which reads every output, is switched off.
 */
async function profileStep({ model, step }: { model: ModelName; step: StepKind }): Promise<void> {
  const info = await selectBackend({ forced: 'wasm', log: () => undefined });
  const { once, dispose } = setUp(model, step, BATCH);
  try {
    for (let i = 0; i < 2; i += 1) await once(i);
    const started = performance.now();
    for (let i = 0; i < 3; i += 1) await once(2 + i);
    const wallMs = (performance.now() - started) / 3;
    const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
    const profile = await tf.profile(() => once(5));
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
    const byKernel = new Map<string, { calls: number; ms: number }>();
    for (const kernel of profile.kernels) {
      const entry = byKernel.get(kernel.name) ?? { calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += kernel.kernelTimeMs as number;
      byKernel.set(kernel.name, entry);
    }
    const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
    const kernels = rows.filter(([name]) => !name.endsWith('__op'));
    const total = kernels.reduce((sum, [, e]) => sum + e.ms, 0);
    console.log(`tf.profile of one ${model} ${STEP_LABEL[step]} at batch ${BATCH} (${describeBackend(info)})`);
    console.log(
      `step wall time ${wallMs.toFixed(0)} ms unprofiled; ${total.toFixed(0)} ms in ${kernels.reduce((n, [, e]) => n + e.calls, 0)} kernel calls profiled`,
    );
    console.log('| kernel | calls | ms |');
    console.log('|---|---:|---:|');
    for (const [name, { calls, ms }] of rows) {
      if (ms >= 0.5) console.log(`| ${name}${name.endsWith('__op') ? ' (includes its kernels)' : ''} | ${calls} | ${ms.toFixed(1)} |`);
    }
    const rest = rows.filter(([, e]) => e.ms < 0.5);
    console.log(`| ${rest.length} other kernels | ${rest.reduce((n, [, e]) => n + e.calls, 0)} | ${rest.reduce((n, [, e]) => n + e.ms, 0).toFixed(1)} |`);
    console.log('\nwasm kernels registered by this project:');
    for (const { name, reason } of WASM_TRAINING_KERNELS) console.log(`  ${name}: ${reason}`);
  } finally {
    dispose();
  }
}

async function measureCell(name: ModelName, kind: StepKind, options: Options): Promise<Cell> {
  // Per-kernel overheads do not scale with the batch; extrapolating one tiny batch would
  // overestimate a PGD step (≈3,000 kernel calls) many times over.
  const [small, large] = PROBE_BATCHES;
  // A cold step first: hopeless cells (the cpu backend's convolutions) stop here.
  const cold = (await runSteps(name, kind, small, 0, () => true)).seconds * (BATCH / small);
  if (cold > 10 * options.budget) {
    return { skipped: `skipped (> ${options.budget} s/step, est. ${cold.toFixed(0)} s)` };
  }
  const tSmall = (await runSteps(name, kind, small, 1, () => true)).seconds;
  const tLarge = (await runSteps(name, kind, large, 1, () => true)).seconds;
  const perSample = (tLarge - tSmall) / (large - small);
  const estimate = perSample > 0 ? tLarge + perSample * (BATCH - large) : (tLarge * BATCH) / large;
  if (estimate > options.budget) {
    return { skipped: `skipped (> ${options.budget} s/step, est. ${estimate.toFixed(0)} s)` };
  }
  const { steps, seconds } = await runSteps(name, kind, BATCH, 1, (n, s) => n >= 2 && s >= options.minSeconds);
  return { samplesPerSecond: (BATCH * steps) / seconds, msPerStep: (1000 * seconds) / steps, steps };
}

function describeBackend(info: BackendInfo): string {
  const adapter = info.adapter ? `, adapter ${describeAdapter(info.adapter)}` : '';
  return `backend ${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'}, tfjs ${info.tfjsVersion}${adapter}`;
}

function formatCell(cell: Cell): string {
  return 'skipped' in cell ? cell.skipped : `${cell.samplesPerSecond.toFixed(0)} samples/s (${cell.msPerStep.toFixed(0)} ms/step)`;
}

function printTable(info: BackendInfo, rows: Map<ModelName, Map<StepKind, Cell>>): void {
  const header = ['model', ...STEPS.map((k) => STEP_LABEL[k])];
  const body = [...rows].map(([name, cells]) => [name, ...STEPS.map((k) => formatCell(cells.get(k) as Cell))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${describeBackend(info)}, batch ${BATCH}, Adam, samples/s = ${BATCH} / step time`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  body.forEach((r) => console.log(line(r)));
}

function torchAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** samples/s printed by the reference script ("… => 600 samples/s"). */
function runTorchReference(arch: 'cnn' | 'mlp'): { samplesPerSecond: number; line: string } {
  const run = spawnSync(PYTHON, [REFERENCE_SCRIPT, arch, '1'], { encoding: 'utf8' });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  const match = /=>\s*([\d.]+)\s*samples\/s/.exec(line);
  if (run.status !== 0 || match === null) {
    throw new Error(`the PyTorch reference failed (exit ${String(run.status)}): ${run.stderr.trim() || line}`);
  }
  return { samplesPerSecond: Number(match[1]), line };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Our wasm FGSM-AT step and PyTorch's, alternately, `rounds` times: the machine's load changes
 * by the minute, so each of our measurements sits next to one of theirs. Ratio of the medians.
 */
async function pairedRatio(model: 'cnn-small' | 'mlp', options: Options): Promise<number> {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const cell = await measureCell(model, 'fgsm', options);
    if ('skipped' in cell) throw new Error(`our ${model} FGSM-AT step was ${cell.skipped}`);
    const torch = runTorchReference(model === 'mlp' ? 'mlp' : 'cnn');
    ours.push(cell.samplesPerSecond);
    theirs.push(torch.samplesPerSecond);
    console.log(`  ${model} round ${round}: ours ${cell.samplesPerSecond.toFixed(0)} samples/s (${cell.msPerStep.toFixed(0)} ms/step); ${torch.line}`);
  }
  return median(ours) / median(theirs);
}

async function reference(options: Options): Promise<void> {
  if (!torchAvailable()) {
    console.log(`\nPyTorch reference skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`);
    return;
  }
  if (!existsSync(REFERENCE_SCRIPT)) {
    console.log(`\nPyTorch reference skipped: ${REFERENCE_SCRIPT} not found`);
    return;
  }
  const info = await selectBackend({ forced: 'wasm', log: () => undefined });
  console.log(`\nPyTorch reference (1 thread) paired with ours (${describeBackend(info)}), FGSM-AT step at batch ${BATCH}:`);
  const mlp = await pairedRatio('mlp', options);
  const cnn = await pairedRatio('cnn-small', options);
  console.log(`mlp FGSM-AT vs PyTorch: ${mlp.toFixed(2)}x`);
  console.log(`cnn-small FGSM-AT vs PyTorch: ${cnn.toFixed(2)}x`);
}

/** tfjs's cpu backend greets Node users once with an "install tfjs-node" banner: noise here. */
function quietTfjsBanner(): void {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === 'string' && a.includes('tfjs-node'))) warn(...args);
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  quietTfjsBanner();
  if (options.profile) {
    await profileStep(options.profile);
    return;
  }
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`bench:train — tfjs ${tf.version.tfjs}, load average ${load()}, budget ${options.budget} s/step`);
  for (const name of options.backends) {
    let info: BackendInfo;
    try {
      info = await selectBackend({ forced: name, log: () => undefined });
    } catch (error) {
      console.log(`\nbackend ${name}: not available (${String((error as Error).message.split(': ').pop())})`);
      continue;
    }
    const rows = new Map<ModelName, Map<StepKind, Cell>>();
    for (const model of MODELS) {
      const cells = new Map<StepKind, Cell>();
      let cheaperSkipped: StepKind | undefined;
      for (const kind of STEPS) {
        // Steps are listed cheapest first: past a skipped one, the rest need no probe.
        const cell: Cell = cheaperSkipped
          ? { skipped: `skipped (> ${options.budget} s/step, as ${STEP_LABEL[cheaperSkipped]})` }
          : await measureCell(model, kind, options);
        if ('skipped' in cell) cheaperSkipped ??= kind;
        cells.set(kind, cell);
      }
      rows.set(model, cells);
    }
    printTable(info, rows);
  }
  if (options.reference) {
    await reference(options);
  }
  // maxRSS is in KiB.
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average ${load()}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
