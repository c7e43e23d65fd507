/**
 * The project's seeded PRNG (sfc32, seeded through splitmix32). It lives here, in the lowest
 * library, so attacks (random starts, Square's sampling) and training (shuffles, initialiser
 * seeds, subsets) draw from the same generator; its 128-bit state is small enough to store
 * in every checkpoint, so a resumed run continues the same sequence.
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
  /** In-place Fisher–Yates shuffle; returns its argument. */
  shuffle(indices: Uint32Array): Uint32Array;
  /** A copy of the four 32-bit words of state, for `restoreSeededRandom`. */
  state(): number[];
}

const TWO_POW_32 = 0x1_0000_0000;

export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`seed must be a safe integer, got ${seed}`);
  }
  // splitmix32 spreads a small integer seed (0, 1, 2...) over all 128 state bits.
  let mix = (seed >>> 0) ^ Math.floor(seed / TWO_POW_32);
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const rng = new Sfc32([splitmix32(), splitmix32(), splitmix32(), splitmix32()]);
  // Discarding the first outputs is the customary warm-up for sfc32.
  for (let i = 0; i < 12; i += 1) {
    rng.nextUint32();
  }
  return rng;
}

export function restoreSeededRandom(state: readonly number[]): SeededRandom {
  if (state.length !== 4 || !state.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
    throw new Error(`rng state must be four unsigned 32-bit integers, got ${JSON.stringify(state)}`);
  }
  return new Sfc32(state);
}

class Sfc32 implements SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(state: readonly number[]) {
    [this.a, this.b, this.c, this.d] = state.map((word) => word | 0);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new Error(`int(n) needs a positive integer n <= 2^32, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  sign(): number {
    return this.nextUint32() & 1 ? 1 : -1;
  }

  tensorSeed(): number {
    return this.nextUint32() >>> 1;
  }

  shuffle(indices: Uint32Array): Uint32Array {
    for (let i = indices.length - 1; i > 0; i -= 1) {
      const j = this.int(i + 1);
      const swap = indices[i];
      indices[i] = indices[j];
      indices[j] = swap;
    }
    return indices;
  }

  state(): number[] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }
}
