/**
 * Attack throughput: examples/s of FGSM, PGD-20, APGD-CE-100 and Square-1000 on cnn-small at
 * batch 128, L∞ ε = 0.1, on the engine's fastest backend (the first that loads).
 *
 *   npm run bench:attacks -- [--train-epochs 1] [--repeats 2]
 *
 * The model is cnn-small trained for --train-epochs on the MNIST digits, so the attacks face a
 * real classifier (on random weights every example falls at once). APGD runs its 100 iterations
 * on the whole batch; Square stops querying an example once it is broken, so its figure
 * depends on how robust the model is: the mean queries per example are printed beside it.
 */
import * as tf from '@tensorflow/tfjs';
import { apgd, fgsm, pgd, square, type AttackResult } from '@bulwark/attacks';
import { createRng, loadDataset, makeBatch } from '@bulwark/data';
import { asLogitsModel, createModel } from '@bulwark/models';
import { BACKEND_NAMES } from '@bulwark/spec';
import { isBackendName, selectBackend } from '@bulwark/tfjs-runtime';
import { trainClassifier } from '@bulwark/training';

const BATCH = 128;
const EPSILON = 0.1;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

async function main(): Promise<void> {
  const trainEpochs = option('train-epochs', 1);
  const repeats = Math.max(1, option('repeats', 2));
  const forced = process.env.BULWARK_BACKEND || undefined;
  if (forced !== undefined && !isBackendName(forced)) throw new Error(`BULWARK_BACKEND must be one of ${BACKEND_NAMES.join(', ')} (got "${forced}")`);
  const backend = await selectBackend({ forced, log: (line) => console.error(line) });
  const { train, test } = loadDataset('mnist', { testFraction: 0.2, seed: 1 });
  const model = createModel({ name: 'cnn-small', inputShape: train.shape, numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const trainStarted = performance.now();
  await trainClassifier({
    model,
    optimizer,
    train,
    test,
    epochs: trainEpochs,
    batchSize: 128,
    rng: createRng(1),
    evalAttack: { attack: 'fgsm', epsilon: EPSILON },
  });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const logits = asLogitsModel(model);
  const { x, y } = makeBatch(
    test,
    Uint32Array.from({ length: BATCH }, (_, i) => i),
  );

  const attacks: Array<[string, () => Promise<AttackResult & { queries?: Int32Array }>]> = [
    ['FGSM', () => fgsm({ model: logits, inputs: x, labels: y, epsilon: EPSILON })],
    ['PGD-20', () => pgd({ model: logits, inputs: x, labels: y, epsilon: EPSILON, steps: 20, stepSize: (2.5 * EPSILON) / 20, seed: 1 })],
    ['APGD-CE-100', () => apgd({ model: logits, inputs: x, labels: y, epsilon: EPSILON, loss: 'ce', steps: 100, seed: 1 })],
    ['Square-1000', () => square({ model: logits, inputs: x, labels: y, epsilon: EPSILON, queries: 1000, seed: 1 })],
  ];

  console.log(`bench:attacks — cnn-small (${trainEpochs} epoch(s) of training, ${trainSeconds.toFixed(0)} s), batch ${BATCH}, L∞ ε = ${EPSILON}`);
  console.log(`backend ${backend.name}, ${backend.threads} thread(s), tfjs ${backend.tfjsVersion}; best of ${repeats}`);
  for (const [name, run] of attacks) {
    let best = Infinity;
    let last: (AttackResult & { queries?: Int32Array }) | undefined;
    for (let r = 0; r < repeats; r += 1) {
      const started = performance.now();
      const result = await run();
      await result.adversarial.data();
      best = Math.min(best, (performance.now() - started) / 1000);
      last?.adversarial.dispose();
      last = result;
    }
    if (last === undefined) throw new Error('--repeats must be at least 1');
    const broken = last.success.filter(Boolean).length;
    const queries = last.queries ? `, mean queries ${(last.queries.reduce((a, b) => a + b, 0) / BATCH).toFixed(0)}` : '';
    const rate = `${(BATCH / best).toFixed(1).padStart(8)} examples/s`;
    console.log(
      `${name.padEnd(12)} ${rate}  (${best.toFixed(2)} s per batch; broke ${broken}/${BATCH}${queries}) [${backend.name}, ${backend.threads} thread(s)]`,
    );
    last.adversarial.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
}

main().catch((err: unknown) => {
  console.error(`bench:attacks: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
