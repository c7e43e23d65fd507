import { resolveAdversarialTraining, warmedEpsilon, type AdversarialTraining } from './adversarial-training';

describe('resolveAdversarialTraining', () => {
  it('fills in each paper’s defaults', () => {
    expect(resolveAdversarialTraining({ method: 'fgsm', epsilon: 0.1 })).toEqual({ method: 'fgsm', epsilon: 0.1, adversarialWeight: 0.5 });
    expect(resolveAdversarialTraining({ method: 'fgsm-rs', epsilon: 0.1 })).toEqual({ method: 'fgsm-rs', epsilon: 0.1, stepSize: 0.125, adversarialWeight: 1 });
    expect(resolveAdversarialTraining({ method: 'pgd', epsilon: 0.3, steps: 40, stepSize: 0.01 })).toEqual({
      method: 'pgd',
      epsilon: 0.3,
      steps: 40,
      stepSize: 0.01,
      randomStart: true,
      adversarialWeight: 1,
    });
    expect(resolveAdversarialTraining({ method: 'pgd', epsilon: 0.1 })).toMatchObject({ steps: 10, stepSize: 0.025 });
    expect(resolveAdversarialTraining({ method: 'trades', epsilon: 0.1 })).toEqual({ method: 'trades', epsilon: 0.1, beta: 6, steps: 10, stepSize: 0.025 });
    expect(resolveAdversarialTraining({ method: 'free', epsilon: 0.1, epsilonWarmup: { unit: 'epochs', length: 2 } })).toEqual({
      method: 'free',
      epsilon: 0.1,
      replays: 8,
      stepSize: 0.1,
      epsilonWarmup: { unit: 'epochs', length: 2 },
    });
  });

  it.each<[AdversarialTraining, RegExp]>([
    [{ method: 'fgsm', epsilon: 1.5 }, /epsilon must be in \[0, 1\]/],
    [{ method: 'fgsm', epsilon: 0.1, adversarialWeight: 0 }, /adversarialWeight/],
    [{ method: 'pgd', epsilon: 0.1, steps: 2.5 }, /steps must be a positive integer/],
    [{ method: 'fgsm-rs', epsilon: 0.1, stepSize: 0 }, /stepSize/],
    [{ method: 'trades', epsilon: 0.1, beta: -1 }, /beta/],
    [{ method: 'free', epsilon: 0.1, replays: 0 }, /replays/],
    [{ method: 'pgd', epsilon: 0.1, epsilonWarmup: { unit: 'batches', length: 0 } }, /epsilonWarmup/],
    [{ method: 'madry', epsilon: 0.1 } as unknown as AdversarialTraining, /unknown method/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveAdversarialTraining(options)).toThrow(message);
  });
});

describe('warmedEpsilon', () => {
  it('ramps linearly to ε over K minibatches, then holds', () => {
    const ramp = [0, 1, 2, 3, 4, 5].map((t) => warmedEpsilon(0.2, { unit: 'batches', length: 4 }, t, 100));
    [0.05, 0.1, 0.15, 0.2, 0.2, 0.2].forEach((expected, t) => expect(ramp[t]).toBeCloseTo(expected, 15));
    expect(ramp[3]).toBe(0.2);
  });

  it('counts an epoch warm-up in minibatches of the epoch, and is ε itself without one', () => {
    const ramp = [0, 2, 5, 6].map((t) => warmedEpsilon(0.3, { unit: 'epochs', length: 2 }, t, 3));
    [0.05, 0.15, 0.3, 0.3].forEach((expected, i) => expect(ramp[i]).toBeCloseTo(expected, 15));
    expect(warmedEpsilon(0.3, undefined, 0, 3)).toBe(0.3);
  });
});
