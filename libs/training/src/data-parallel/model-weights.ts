import * as tf from '@tensorflow/tfjs';

/**
 * A model's weights as plain arrays: the trainable ones (what the optimizer updates) and the
 * state a forward pass in training mode writes (batch-norm moving statistics).
 */
export interface ModelWeights {
  trainable: Float32Array[];
  state: Float32Array[];
}

export async function readModelWeights(model: tf.LayersModel): Promise<ModelWeights> {
  const [trainable, state] = await Promise.all([readWeights(model.trainableWeights), readWeights(model.nonTrainableWeights)]);
  return { trainable, state };
}

/** Copies of the weights' current values (a copy: the variables change with the next step). */
export function readWeights(weights: tf.LayerVariable[]): Promise<Float32Array[]> {
  return Promise.all(weights.map(async (w) => Float32Array.from(await w.read().data())));
}

export function writeModelWeights(model: tf.LayersModel, { trainable, state }: ModelWeights): void {
  writeWeights(model.trainableWeights, trainable, 'trainable');
  writeWeights(model.nonTrainableWeights, state, 'state');
}

/** Sets `weights` in order from `values`; a count or size that does not match is another topology. */
export function writeWeights(weights: tf.LayerVariable[], values: readonly Float32Array[], what: string): void {
  if (weights.length !== values.length) throw new Error(`the model has ${weights.length} ${what} weights, the step sent ${values.length}`);
  weights.forEach((weight, i) => {
    const current = weight.read();
    if (values[i].length !== current.size) throw new Error(`${what} weight ${weight.name} has ${current.size} values, the step sent ${values[i].length}`);
    const value = tf.tensor(values[i], current.shape, 'float32');
    weight.write(value);
    value.dispose();
  });
}
