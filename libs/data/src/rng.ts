import { createSeededRandom, restoreSeededRandom, type SeededRandom } from '@bulwark/attacks';

/**
 * Everything random in a run (shuffles, initialiser seeds, subsets) draws from one seeded
 * generator, whose state goes into every checkpoint. It is the attack library's, so attacks
 * and training share one algorithm.
 */
export type Rng = SeededRandom;
export const createRng: (seed: number) => Rng = createSeededRandom;
export const restoreRng: (state: readonly number[]) => Rng = restoreSeededRandom;
