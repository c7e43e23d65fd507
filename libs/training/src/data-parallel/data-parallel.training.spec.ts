import * as tf from '@tensorflow/tfjs';
import { createRng, loadMnistDigits, splitDataset, subsetDataset, takeExamples, type Dataset } from '@bulwark/data';
import { createModel, trainableVariables } from '@bulwark/models';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { trainClassifier, trainingMethodFor } from '../train-classifier';
import { fgsmAt01, weightsDigest } from '../training.fixture';
import { computeShardGradient, localGradientExchange, readModelWeights, reduceShards, type GradientExchange, type ShardOutcome } from '.';
import type { AdversarialTraining } from '../methods/adversarial-training';

const cnn = (seed: number) => createModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed });

describe('data-parallel training', () => {
  let train: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    ({ train, test } = splitDataset(subsetDataset(loadMnistDigits(), 200), { testFraction: 0.2, seed: 3 }));
  });

  it('reduces shard gradients to the gradient of the whole minibatch, weighted by shard size', async () => {
    const model = cnn(1);
    const createMethod = trainingMethodFor(undefined);
    const weights = await readModelWeights(model);
    const examples = takeExamples(
      train,
      Uint32Array.from({ length: 10 }, (_, i) => i),
      'ten',
    );
    const whole = await computeShardGradient(model, createMethod, weights, { shard: 0, examples, epsilon: 0, seed: 1 });
    // Sizes 4, 3, 3: an unweighted mean of the shards would be off.
    const parts: ShardOutcome[] = [];
    for (const [shard, [from, to]] of [
      [0, 4],
      [4, 7],
      [7, 10],
    ].entries()) {
      parts.push(
        await computeShardGradient(model, createMethod, weights, {
          shard,
          examples: takeExamples(
            examples,
            Uint32Array.from({ length: to - from }, (_, i) => from + i),
            'part',
          ),
          epsilon: 0,
          seed: 1,
        }),
      );
    }
    const reduced = reduceShards(parts);
    expect(reduced.loss).toBeCloseTo(whole.loss, 5);
    reduced.gradients.forEach((g, j) => {
      const maxError = g.reduce((m, v, i) => Math.max(m, Math.abs(v - whole.gradients[j][i])), 0);
      expect(maxError).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  async function trainWith(exchangeFor: (model: tf.LayersModel, method: AdversarialTraining) => GradientExchange): Promise<string> {
    const model = cnn(7);
    const optimizer = tf.train.adam(1e-3);
    const adversarial: AdversarialTraining = { method: 'pgd', epsilon: 0.1, steps: 3 };
    try {
      await trainClassifier({
        model,
        optimizer,
        train,
        test,
        epochs: 1,
        batchSize: 50,
        rng: createRng(5),
        adversarial,
        evalAttack: fgsmAt01,
        dataParallel: { shards: 3, exchange: exchangeFor(model, adversarial) },
      });
      return await weightsDigest(model);
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  }

  it('ends bit-identical whichever process computes which shard, in whatever order', async () => {
    const inProcess = await trainWith((model, adversarial) => localGradientExchange(model, trainingMethodFor(adversarial)));
    // Two "workers", each with its own model instance built from another seed: they get every
    // weight from the step, and compute the shards in reverse order.
    const spread = await trainWith((_model, adversarial) => {
      const workers = [cnn(100), cnn(200)];
      const createMethod = trainingMethodFor(adversarial);
      return {
        computeShards: async ({ weights, tasks }) => {
          const outcomes: Array<{ shard: number; outcome: ShardOutcome }> = [];
          for (const task of [...tasks].reverse()) {
            outcomes.push({ shard: task.shard, outcome: await computeShardGradient(workers[task.shard % 2], createMethod, weights, task) });
          }
          return outcomes.sort((a, b) => a.shard - b.shard).map((o) => o.outcome);
        },
      };
    });
    expect(spread).toBe(inProcess);
  });

  it('refuses free adversarial training, whose steps carry state', async () => {
    const model = cnn(1);
    await expect(
      trainClassifier({
        model,
        optimizer: tf.train.adam(1e-3),
        train,
        test,
        epochs: 1,
        batchSize: 50,
        rng: createRng(5),
        adversarial: { method: 'free', epsilon: 0.1 },
        evalAttack: fgsmAt01,
        dataParallel: { shards: 2, exchange: localGradientExchange(model, trainingMethodFor(undefined)) },
      }),
    ).rejects.toThrow('not free adversarial training');
    expect(trainableVariables(model).length).toBeGreaterThan(0);
    model.dispose();
  });
});
