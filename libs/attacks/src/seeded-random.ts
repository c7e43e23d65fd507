/**
 * The attacks' own seeded PRNG (sfc32 seeded through splitmix32). libs/attacks depends on
 * nothing but tfjs, so it cannot share the training library's generator; the algorithm is
 * the same so results stay reproducible from one integer seed.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** −1 or +1 with equal probability. */
  sign(): number;
  /** A fresh 31-bit seed for a seeded tfjs op (tf.randomUniform, tf.randomNormal). */
  tensorSeed(): number;
}

const TWO_POW_32 = 0x1_0000_0000;

export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`seed must be a safe integer, got ${seed}`);
  }
  let mix = (seed >>> 0) ^ Math.floor(seed / TWO_POW_32);
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32() | 0;
  let b = splitmix32() | 0;
  let c = splitmix32() | 0;
  let d = splitmix32() | 0;
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i += 1) {
    nextUint32();
  }
  const next = (): number => nextUint32() / TWO_POW_32;
  return {
    next,
    int: (n: number) => {
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`int(n) needs a positive integer, got ${n}`);
      }
      return Math.floor(next() * n);
    },
    sign: () => (nextUint32() & 1 ? 1 : -1),
    tensorSeed: () => nextUint32() >>> 1,
  };
}
