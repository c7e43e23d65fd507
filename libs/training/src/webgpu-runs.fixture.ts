/**
 * Child process of webgpu-runs.training.spec.ts: one whole small run on the backend named by
 * argv[3] ('cpu' or 'webgpu', forced; 'wasm' for a timing), written as JSON to the file named by argv[2]. The run is
 * what a worker does for an adversarial-training run and then an evaluation of its result: one
 * epoch of FGSM adversarial training of the zoo's mlp on a few hundred MNIST digits with its
 * end-of-epoch FGSM evaluation, then the standard suite (FGSM, PGD, APGD-CE, APGD-T, Square) on
 * a handful of test digits. On webgpu it also records what backend selection picks unforced,
 * and what a synchronous read and the JPEG defense do.
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { createDefense } from '@bulwark/defenses';
import { createRng, loadMnistDigits, takeExamples } from '@bulwark/data';
import { evaluateRobustness } from '@bulwark/evaluation';
import { asLogitsModel, createModel } from '@bulwark/models';
import type { BackendName } from '@bulwark/spec';
import { selectBackend, type BackendInfo } from '@bulwark/tfjs-runtime';
import { trainClassifier, type EpochResult } from './train-classifier';

export const RUN = {
  trainExamples: 512,
  testExamples: 128,
  evaluationExamples: 16,
  batchSize: 32,
  epsilon: 0.1,
  learningRate: 1e-3,
  seed: 5,
  params: {
    pgd: { steps: 10, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' as const },
    apgd: { steps: 10, restarts: 1 },
    apgdTargeted: { steps: 10, targetClasses: 2 },
    square: { queries: 50, pInit: 0.8 },
  },
};

export interface RunReport {
  backend: BackendInfo;
  /** Webgpu only: what selection picks without BULWARK_BACKEND, and the lines it logged. */
  unforced?: { backend: BackendInfo; log: string[] };
  epoch: Omit<EpochResult, 'seconds' | 'cpuSeconds'>;
  /** Per ε and attack: examples correct on the clean and on the attacked input. */
  evaluation: Array<{ epsilon: number; attack: string; cleanCorrect: number; robustCorrect: number }>;
  evaluationExamples: number;
  /** Every trained weight, flattened: the two backends' runs are compared weight by weight. */
  weights: number[];
  trainSeconds: number;
  evaluationSeconds: number;
  /** What a synchronous read threw, if anything. */
  syncReadError?: string;
  /** What building the JPEG defense threw, if anything. */
  jpegError?: string;
}

const range = (start: number, end: number) => Uint32Array.from({ length: end - start }, (_, i) => start + i);

function errorOf(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function run(name: BackendName): Promise<RunReport> {
  let unforced: RunReport['unforced'];
  if (name === 'webgpu') {
    const log: string[] = [];
    unforced = { backend: await selectBackend({ log: (line) => log.push(line) }), log };
  }
  const backend = await selectBackend({ forced: name, log: () => undefined });
  const digits = loadMnistDigits();
  const train = takeExamples(digits, range(0, RUN.trainExamples), 'digits/train');
  const test = takeExamples(digits, range(RUN.trainExamples, RUN.trainExamples + RUN.testExamples), 'digits/test');
  const model = createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: RUN.seed });
  const optimizer = tf.train.adam(RUN.learningRate);

  const trainStarted = performance.now();
  const summary = await trainClassifier({
    model,
    optimizer,
    train,
    test,
    epochs: 1,
    batchSize: RUN.batchSize,
    rng: createRng(RUN.seed),
    adversarial: { method: 'fgsm', epsilon: RUN.epsilon },
    evalAttack: { attack: 'fgsm', epsilon: RUN.epsilon },
  });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  if (summary.last === undefined) throw new Error('the training run finished no epoch');
  const { seconds: _seconds, cpuSeconds: _cpuSeconds, ...epoch } = summary.last;

  const evaluationStarted = performance.now();
  const evaluation = await evaluateRobustness({
    model: asLogitsModel(model),
    dataset: takeExamples(test, range(0, RUN.evaluationExamples), `digits/test[0:${RUN.evaluationExamples}]`),
    epsilons: [0, RUN.epsilon],
    norm: 'linf',
    attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
    params: RUN.params,
    seed: RUN.seed,
    galleryPerEpsilon: 2,
  });
  const evaluationSeconds = (performance.now() - evaluationStarted) / 1000;

  const weights = (await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())))).flat();

  // A product computed on the device (tfjs-backend-webgpu computes tiny element-wise ops on the CPU).
  const syncReadError = errorOf(() => tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).dataSync()));
  const jpegError = errorOf(() => createDefense({ model, spec: { preprocessing: [{ kind: 'jpeg', quality: 75 }] } }));
  optimizer.dispose();
  model.dispose();
  return {
    backend,
    unforced,
    epoch,
    evaluation: evaluation.points.flatMap((point) =>
      point.outcomes.map(({ attack, cleanCorrect, robustCorrect }) => ({ epsilon: point.epsilon, attack, cleanCorrect, robustCorrect })),
    ),
    evaluationExamples: evaluation.n,
    weights,
    trainSeconds,
    evaluationSeconds,
    syncReadError,
    jpegError,
  };
}

const [out, name] = process.argv.slice(2);
if (!['cpu', 'wasm', 'webgpu'].includes(name)) throw new Error(`usage: webgpu-runs.fixture.ts <out.json> cpu|wasm|webgpu (got ${name})`);
run(name as BackendName)
  .then((report) => {
    writeFileSync(out, JSON.stringify(report));
    // Dawn's threads would keep the process alive.
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
