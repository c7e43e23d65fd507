/**
 * Child process of webgpu-parity.training.spec.ts: the same cnn-small computations on the cpu
 * backend and on webgpu (forced, so llvmpipe is accepted on a machine without a GPU), written to
 * the JSON file named by argv[2]. Values are read with `data()`: webgpu in Node cannot read
 * synchronously (its dataSync needs an OffscreenCanvas).
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { softmaxCrossEntropy } from '@bulwark/attacks';
import { createRng } from '@bulwark/data';
import { applyModel, createModel, trainableVariables } from '@bulwark/models';
import { selectBackend, type BackendInfo } from '@bulwark/tfjs-runtime';
import { createOptimizer } from './learning-rate-schedule';
import { cleanTraining } from './methods/training-method';

const INPUT_SHAPE: [number, number, number] = [28, 28, 1];
const BATCH = 8;
const CLASSES = 10;
const LEARNING_RATE = 1e-3;

export interface BackendOutcome {
  backend: BackendInfo;
  /** Names of the trainable weights, then 'input': the order of `gradients`. */
  names: string[];
  /** Mean softmax cross-entropy gradients of every trainable weight and of the input, at the initial weights. */
  gradients: number[][];
  /** Every trainable weight after one Adam step on the same batch. */
  weightsAfterStep: number[][];
  /** The loss that step minimised. */
  loss: number;
  /** What a synchronous read (dataSync) threw, if anything. */
  syncReadError?: string;
}

export interface ParityReport {
  learningRate: number;
  cpu: BackendOutcome;
  webgpu: BackendOutcome;
  initialWeights: number[][];
}

/** Deterministic pixels in [0, 1) and labels covering every class. */
function batch(): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const size = BATCH * INPUT_SHAPE.reduce((a, b) => a * b, 1);
  const pixels = Float32Array.from({ length: size }, (_, i) => Math.abs((Math.sin(i * 12.9898) * 43758.5453) % 1));
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 3) % CLASSES);
  return { x: tf.tensor4d(pixels, [BATCH, ...INPUT_SHAPE]), y: tf.tensor1d(labels, 'int32') };
}

async function values(tensors: tf.Tensor[]): Promise<number[][]> {
  return Promise.all(tensors.map(async (t) => Array.from(await t.data())));
}

async function outcome(name: 'cpu' | 'webgpu'): Promise<{ outcome: BackendOutcome; initialWeights: number[][] }> {
  const backend = await selectBackend({ forced: name, log: () => undefined });
  const model = createModel({ name: 'cnn-small', inputShape: INPUT_SHAPE, numClasses: CLASSES, seed: 3 });
  const { x, y } = batch();
  const input = tf.variable(x, true, `input_${name}`);
  const variables = trainableVariables(model);
  const initialWeights = await values(variables);

  const loss = () => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(model, input, true), labels: y }));
  const { grads } = tf.variableGrads(loss, [...variables, input]);
  const gradients = await values([...variables, input].map((v) => grads[v.name]));
  tf.dispose(Object.values(grads));

  const optimizer = createOptimizer({ name: 'adam' }, LEARNING_RATE);
  const step = cleanTraining({ model, optimizer, variables, rng: createRng(1) }).step({ x, y, epsilon: 0 });
  const stepLoss = (await step.data())[0];
  const weightsAfterStep = await values(variables);

  let syncReadError: string | undefined;
  try {
    // A tensor not read before: `step`'s values are cached on the CPU since its data() above.
    tf.tidy(() => tf.add(step, 1).dataSync());
  } catch (err) {
    syncReadError = (err as Error).message;
  }

  tf.dispose([x, y, input, step]);
  optimizer.dispose();
  model.dispose();
  const names = [...model.trainableWeights.map((w) => w.originalName), 'input'];
  return { outcome: { backend, names, gradients, weightsAfterStep, loss: stepLoss, syncReadError }, initialWeights };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  const cpu = await outcome('cpu');
  const webgpu = await outcome('webgpu');
  const report: ParityReport = { learningRate: LEARNING_RATE, cpu: cpu.outcome, webgpu: webgpu.outcome, initialWeights: cpu.initialWeights };
  writeFileSync(out, JSON.stringify(report));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
