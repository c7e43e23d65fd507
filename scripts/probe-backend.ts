/**
 * Which TensorFlow.js backends load on this machine, which one a worker would choose, the GPU
 * adapter webgpu finds, and the time of one clean cnn-small training step (Adam, 28×28×1,
 * batch 128 by default) on each backend that loads. For a first look at a new (GPU) machine;
 * throughput across models and attacks is bench:train's.
 *
 *   npm run probe:backend -- [--backends node-gpu,node,webgpu,wasm,cpu] [--batch 128] [--seconds 3]
 *
 * cpu, the reference backend no worker chooses while wasm loads, is timed only when --backends
 * names it: its step at batch 128 takes minutes. A backend whose warm-up step alone exceeds
 * --seconds is reported by that step.
 */
import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { applyModel, createModel, trainableVariables } from '@bulwark/models';
import { BACKEND_NAMES, type BackendName } from '@bulwark/spec';
import { describeBackend, isBackendName, selectBackend } from '@bulwark/tfjs-runtime';

interface Options {
  backends: BackendName[];
  batch: number;
  /** Each backend times whole steps, after one warm-up, until this many seconds have passed (and ≥ 2 steps). */
  seconds: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { backends: BACKEND_NAMES.filter((name) => name !== 'cpu'), batch: 128, seconds: 3 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv.at(++i);
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--backends') {
      const names = value.split(',');
      const unknown = names.filter((name) => !isBackendName(name));
      if (unknown.length > 0) throw new Error(`--backends: unknown ${unknown.join(', ')}; expected some of ${BACKEND_NAMES.join(', ')}`);
      options.backends = names as BackendName[];
    } else if (arg === '--batch' || arg === '--seconds') {
      const n = Number(value);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`${arg} must be a positive integer, got ${value}`);
      if (arg === '--batch') options.batch = n;
      else options.seconds = n;
    } else {
      throw new Error(`unknown option ${arg}`);
    }
  }
  return options;
}

/** Milliseconds per clean cnn-small Adam step, read back asynchronously (webgpu in Node has no synchronous reads). */
async function msPerStep(batch: number, seconds: number): Promise<{ ms: number; steps: number; warmUpOnly: boolean }> {
  const model = createModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const variables = trainableVariables(model);
  const x = tf.randomUniform<tf.Rank.R4>([batch, 28, 28, 1], 0, 1, 'float32', 2);
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, 10, 'float32', 3)), 'int32')) as tf.Tensor1D;
  const lossOf = () => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, x, true), labels: y }));
  const step = async () => {
    const loss = tf.tidy(() => {
      const value = optimizer.minimize(lossOf, true, variables);
      if (value === null) throw new Error('optimizer.minimize returned no loss');
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  try {
    // The first step compiles kernels (webgpu: shaders) and allocates: not what a run pays per step.
    const warmUpStart = performance.now();
    await step();
    const warmUp = performance.now() - warmUpStart;
    if (warmUp > seconds * 1000) return { ms: warmUp, steps: 1, warmUpOnly: true };
    const start = performance.now();
    let steps = 0;
    while (steps < 2 || performance.now() - start < seconds * 1000) {
      await step();
      steps += 1;
    }
    return { ms: (performance.now() - start) / steps, steps, warmUpOnly: false };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.log(`probe:backend — tfjs ${tf.version.tfjs}, node ${process.version}, ${process.platform}-${process.arch}`);
  console.log('\nselection (what a worker without BULWARK_BACKEND chooses):');
  const chosen = await selectBackend({ log: (line) => console.log(`  ${line}`) });
  console.log(`  chosen: ${describeBackend(chosen)}`);

  console.log(`\neach backend forced (BULWARK_BACKEND), one clean cnn-small Adam step at batch ${options.batch}:`);
  for (const name of options.backends) {
    const notes: string[] = [];
    try {
      const backend = await selectBackend({ forced: name, log: (line) => notes.push(line) });
      const { ms, steps, warmUpOnly } = await msPerStep(options.batch, options.seconds);
      const measured = warmUpOnly ? 'the warm-up step alone' : `${steps} steps`;
      console.log(`  ${name.padEnd(8)} ${ms.toFixed(0).padStart(7)} ms/step (${measured})  ${describeBackend(backend)}`);
    } catch (err) {
      console.log(`  ${name.padEnd(8)}  not available: ${(err as Error).message}`);
    }
    for (const note of notes) console.log(`           ${note}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
