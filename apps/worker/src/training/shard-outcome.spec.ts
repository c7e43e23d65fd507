import { decodeOutcome, encodeOutcome } from './queue-gradient-exchange';

describe('a shard answer as it travels through Redis', () => {
  it('keeps size, loss, gradients and state apart, bit for bit', () => {
    const outcome = {
      size: 63,
      loss: Math.fround(2.302585),
      gradients: [Float32Array.from([0.5, -1e-8]), Float32Array.from([3])],
      state: [Float32Array.from([1, 2, 3])],
    };
    const decoded = decodeOutcome(encodeOutcome(outcome), 2);
    expect(decoded.size).toBe(63);
    expect(decoded.loss).toBe(outcome.loss);
    expect(decoded.gradients.map((g) => Array.from(g))).toEqual(outcome.gradients.map((g) => Array.from(g)));
    expect(decoded.state.map((g) => Array.from(g))).toEqual([[1, 2, 3]]);
  });

  it('refuses an answer with fewer gradients than the model has weights', () => {
    const blob = encodeOutcome({ size: 1, loss: 0, gradients: [Float32Array.from([1])], state: [] });
    expect(() => decodeOutcome(blob, 2)).toThrow('without its size, loss and gradients');
  });
});
