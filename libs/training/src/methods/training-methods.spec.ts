import * as tf from '@tensorflow/tfjs';
import { craftFgsm, softmaxCrossEntropy } from '@bulwark/attacks';
import { selectBackend } from '@bulwark/tfjs-runtime';
import { createRng, loadMnistDigits, makeBatch, type Batch, type Dataset } from '@bulwark/data';
import { applyModel, asLogitsModel, trainableVariables } from '@bulwark/models';
import { mlp, optimizerDigest, optimizerIterations, weightsDigest } from '../training.fixture';
import { resolveAdversarialTraining } from './adversarial-training';
import { adversarialTrainingMethod } from './create-training-method';
import { cleanTraining, type TrainingContext, type TrainingMethod } from './training-method';

interface Trainee {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  context: TrainingContext;
  dispose(): void;
}

function trainee(seed: number, rngSeed = 1): Trainee {
  const model = mlp(seed);
  const optimizer = tf.train.adam(1e-3);
  const context = { model, optimizer, variables: trainableVariables(model), rng: createRng(rngSeed) };
  return {
    model,
    optimizer,
    context,
    dispose: () => {
      model.dispose();
      optimizer.dispose();
    },
  };
}

/** Steps `method` once per batch and returns the losses. */
async function stepAll(method: TrainingMethod, batches: Batch[], epsilon: number): Promise<number[]> {
  const losses: number[] = [];
  for (const { x, y } of batches) {
    const loss = method.step({ x, y, epsilon });
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  return losses;
}

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('adversarial-training methods, one minibatch at a time', () => {
  let digits: Dataset;
  let batches: Batch[];

  beforeAll(async () => {
    await selectBackend({ forced: 'wasm', log: () => undefined });
    digits = loadMnistDigits();
    batches = [0, 1].map((k) =>
      makeBatch(
        digits,
        Uint32Array.from({ length: 32 }, (_, i) => 32 * k + i),
      ),
    );
  });

  afterAll(() => tf.dispose(batches.flatMap(({ x, y }) => [x, y])));

  it('fgsm at its default weight is the original FGSM training, bit for bit', async () => {
    const original = trainee(3);
    const variables = original.context.variables;
    // The loss and step exactly as trainClassifier wrote them before methods existed.
    for (const { x, y } of batches) {
      tf.tidy(() => {
        const xAdv = craftFgsm({ model: asLogitsModel(original.model), inputs: x, labels: y, epsilon: 0.1 });
        const inputs = tf.concat([x, xAdv]);
        const labels = tf.concat([y, y]);
        original.optimizer.minimize(
          () => tf.mean<tf.Scalar>(softmaxCrossEntropy({ logits: applyModel(original.model, inputs, true), labels })),
          true,
          variables,
        );
      });
    }
    const current = trainee(3);
    await stepAll(adversarialTrainingMethod(current.context, resolveAdversarialTraining({ method: 'fgsm', epsilon: 0.1 })), batches, 0.1);

    expect(await weightsDigest(current.model)).toEqual(await weightsDigest(original.model));
    expect(await optimizerDigest(current.optimizer)).toEqual(await optimizerDigest(original.optimizer));
    [original, current].forEach((t) => t.dispose());
  });

  it('fgsm weights the clean and adversarial losses by 1 − w and w', async () => {
    const t = trainee(4);
    const method = adversarialTrainingMethod(t.context, resolveAdversarialTraining({ method: 'fgsm', epsilon: 0.1, adversarialWeight: 0.25 }));
    const { x, y } = batches[0];
    const expected = tf.tidy(() => {
      const ce = (inputs: tf.Tensor) => tf.mean(softmaxCrossEntropy({ logits: applyModel(t.model, inputs, true), labels: y }));
      return tf.add(tf.mul(ce(x), 0.75), tf.mul(ce(method.craft!({ x, y, epsilon: 0.1 })), 0.25));
    });

    const [loss] = await stepAll(method, [batches[0]], 0.1);

    expect(loss).toBeCloseTo((await values(expected))[0], 5);
    expected.dispose();
    t.dispose();
  });

  it('fgsm-rs starts at a random point of the ε-ball and steps α = 1.25ε (Wong et al.)', async () => {
    const t = trainee(5, 7);
    const epsilon = 0.1;
    const fgsmRs = adversarialTrainingMethod(t.context, resolveAdversarialTraining({ method: 'fgsm-rs', epsilon }));
    const fgsm = adversarialTrainingMethod(t.context, resolveAdversarialTraining({ method: 'fgsm', epsilon }));
    // Mid-grey inputs: no pixel is clipped by [0,1], so δ shows the step itself.
    const x = tf.fill<tf.Rank.R4>([64, 28, 28, 1], 0.5);
    const y = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % 10),
      'int32',
    );
    const rngBefore = t.context.rng.state();
    const first = fgsmRs.craft!({ x, y, epsilon });
    const rngAfter = t.context.rng.state();
    const second = fgsmRs.craft!({ x, y, epsilon });
    const plain = fgsm.craft!({ x, y, epsilon });
    const delta = Float32Array.from(await values(first), (v) => Math.abs(v - 0.5));

    // FGSM moves every pixel by exactly ε; one step of 1.25ε from δ₀ ~ U[−ε, ε] reaches the
    // boundary from 5/8 of the starts and otherwise stops in [0.25ε, ε).
    expect(Array.from(await values(plain), (v) => Math.abs(v - 0.5)).every((d) => Math.abs(d - epsilon) < 1e-6)).toBe(true);
    expect(Math.max(...delta)).toBeLessThanOrEqual(epsilon + 1e-6);
    expect(Math.min(...delta)).toBeGreaterThanOrEqual(0.25 * epsilon - 1e-6);
    expect(Math.min(...delta)).toBeLessThan(0.26 * epsilon);
    expect(delta.filter((d) => d > epsilon - 1e-6).length / delta.length).toBeCloseTo(0.625, 1);
    // Each minibatch draws a fresh start from the run's RNG (so checkpoints cover it).
    expect(rngAfter).not.toEqual(rngBefore);
    expect(await values(second)).not.toEqual(await values(first));
    tf.dispose([x, y, first, second, plain]);
    t.dispose();
  });

  it('pgd with one step of ε from the clean input is fgsm on the adversarial loss', async () => {
    const viaPgd = trainee(6);
    const viaFgsm = trainee(6);
    const pgd = adversarialTrainingMethod(
      viaPgd.context,
      resolveAdversarialTraining({ method: 'pgd', epsilon: 0.1, steps: 1, stepSize: 0.1, randomStart: false }),
    );
    const fgsm = adversarialTrainingMethod(viaFgsm.context, resolveAdversarialTraining({ method: 'fgsm', epsilon: 0.1, adversarialWeight: 1 }));
    const pgdBatch = pgd.craft!({ ...batches[0], epsilon: 0.1 });
    const fgsmBatch = fgsm.craft!({ ...batches[0], epsilon: 0.1 });

    const pgdLosses = await stepAll(pgd, batches, 0.1);
    const fgsmLosses = await stepAll(fgsm, batches, 0.1);

    // PGD projects x + ((x + ε·sign ∇) − x), which could in principle round a pixel's last bit
    // differently from FGSM's x + ε·sign ∇; on 8-bit pixels at ε = 0.1 it does not.
    expect(await values(pgdBatch)).toEqual(await values(fgsmBatch));
    expect(pgdLosses).toEqual(fgsmLosses);
    expect(await weightsDigest(viaPgd.model)).toEqual(await weightsDigest(viaFgsm.model));
    tf.dispose([pgdBatch, fgsmBatch]);
    [viaPgd, viaFgsm].forEach((t) => t.dispose());
  });

  it('trades with β = 0 takes exactly clean training’s step', async () => {
    const viaTrades = trainee(8);
    const clean = trainee(8);
    const trades = adversarialTrainingMethod(viaTrades.context, resolveAdversarialTraining({ method: 'trades', epsilon: 0.1, beta: 0, steps: 3 }));
    const tradesLosses = await stepAll(trades, batches, 0.1);
    const cleanLosses = await stepAll(cleanTraining(clean.context), batches, 0);

    expect(tradesLosses).toEqual(cleanLosses);
    expect(await weightsDigest(viaTrades.model)).toEqual(await weightsDigest(clean.model));
    [viaTrades, clean].forEach((t) => t.dispose());
  });

  it('trades crafts x′ inside the ε-ball and [0,1], raising the KL above its start’s', async () => {
    const t = trainee(9);
    const method = adversarialTrainingMethod(t.context, resolveAdversarialTraining({ method: 'trades', epsilon: 0.1, steps: 5 }));
    const { x } = batches[0];
    const xAdv = method.craft!({ ...batches[0], epsilon: 0.1 });
    const [linf, low, high, klAdv, klNear] = await Promise.all(
      tf
        .tidy(() => {
          const kl = (other: tf.Tensor) => {
            const p = tf.logSoftmax(applyModel(t.model, x, false));
            return tf.sum(tf.mul(tf.exp(p), tf.sub(p, tf.logSoftmax(applyModel(t.model, other, false)))));
          };
          const near = tf.clipByValue(tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', 3), 0.001)), 0, 1);
          return [tf.max(tf.abs(tf.sub(xAdv, x))), tf.min(xAdv), tf.max(xAdv), kl(xAdv), kl(near)];
        })
        .map(async (v) => (await v.data())[0]),
    );

    expect(linf).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(linf).toBeGreaterThan(0.05);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    expect(klAdv).toBeGreaterThan(100 * klNear);
    xAdv.dispose();
    t.dispose();
  });

  it('free training starts from δ = 0, carries δ to the next minibatch, and steps m times per minibatch', async () => {
    const before = tf.memory().numTensors;
    const viaFree = trainee(10);
    const clean = trainee(10);
    const free = adversarialTrainingMethod(viaFree.context, resolveAdversarialTraining({ method: 'free', epsilon: 0.1, replays: 1 }));
    const cleanMethod = cleanTraining(clean.context);

    // The first minibatch sees δ = 0: the clean step exactly.
    await stepAll(free, [batches[0]], 0.1);
    await stepAll(cleanMethod, [batches[0]], 0);
    expect(await weightsDigest(viaFree.model)).toEqual(await weightsDigest(clean.model));
    // The next one starts from the δ the first left behind.
    await stepAll(free, [batches[1]], 0.1);
    await stepAll(cleanMethod, [batches[1]], 0);
    expect(await weightsDigest(viaFree.model)).not.toEqual(await weightsDigest(clean.model));
    free.endEpoch();

    const replayed = trainee(11);
    const m3 = adversarialTrainingMethod(replayed.context, resolveAdversarialTraining({ method: 'free', epsilon: 0.1, replays: 3 }));
    expect(m3.replays).toBe(3);
    for (let i = 0; i < 3; i += 1) await stepAll(m3, [batches[0]], 0.1);
    expect(await optimizerIterations(replayed.optimizer)).toBe(3);
    m3.endEpoch();
    [viaFree, clean, replayed].forEach((t) => t.dispose());
    // Nothing survives endEpoch: the carried δ is gone with it.
    expect(tf.memory().numTensors).toBe(before);
  });
});
