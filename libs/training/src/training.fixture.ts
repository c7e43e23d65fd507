import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { createModel } from '@bulwark/models';
import type { EpochResult } from './train-classifier';

export const mlp = (seed: number): tf.LayersModel => createModel({ name: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed });

/** The FGSM test attack most training specs measure after each epoch. */
export const fgsmAt01 = { attack: 'fgsm', epsilon: 0.1 } as const;

/** sha256 of the tensors' bytes in order: bit-exact comparison without deep-equal over 270k numbers. */
export async function digest(tensors: tf.Tensor[]): Promise<string> {
  const hash = createHash('sha256');
  for (const tensor of tensors) {
    const data = (await tensor.data()) as Float32Array | Int32Array;
    hash.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

export const weightsDigest = (model: tf.LayersModel): Promise<string> => digest(model.getWeights());

/** Digest of every slot variable and the iteration count of the optimizer. */
export async function optimizerDigest(optimizer: tf.Optimizer): Promise<string> {
  const weights = await optimizer.getWeights();
  const result = await digest(weights.map(({ tensor }) => tensor));
  // The first entry is a fresh iteration-count scalar; the rest are live slot variables.
  weights[0].tensor.dispose();
  return result;
}

/** The optimizer's iteration count. */
export async function optimizerIterations(optimizer: tf.Optimizer): Promise<number> {
  const weights = await optimizer.getWeights();
  const iterations = (await weights[0].tensor.data())[0];
  weights[0].tensor.dispose();
  return iterations;
}

export const withoutTiming = ({ seconds: _seconds, cpuSeconds: _cpuSeconds, ...rest }: EpochResult): Omit<EpochResult, 'seconds' | 'cpuSeconds'> => rest;
