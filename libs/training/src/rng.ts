/**
 * Seeded PRNG (sfc32, seeded through splitmix32). Everything random in a run (shuffles,
 * initialiser seeds, subsets) draws from one of these, and its 128-bit state is small
 * enough to store in every checkpoint so a resumed run continues the same sequence.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** In-place Fisher–Yates shuffle; returns its argument. */
  shuffle(indices: Uint32Array): Uint32Array;
  /** A copy of the four 32-bit words of state, for `restoreRng`. */
  state(): number[];
}

const TWO_POW_32 = 0x1_0000_0000;

export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`rng seed must be a safe integer, got ${seed}`);
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

export function restoreRng(state: readonly number[]): Rng {
  if (state.length !== 4 || !state.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
    throw new Error(`rng state must be four unsigned 32-bit integers, got ${JSON.stringify(state)}`);
  }
  return new Sfc32(state);
}

class Sfc32 implements Rng {
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
      throw new Error(`rng.int(n) needs an integer 0 < n <= 2^32, got ${n}`);
    }
    return Math.floor(this.next() * n);
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
