import { randomBytes } from 'node:crypto';
import { ApiConfig, loadApiConfig } from '../../libs/config/src';

/** A queue prefix of this test file's own, under the run's prefix, so files never consume each other's jobs. */
export function uniqueQueuePrefix(tag: string): string {
  const base = process.env.QUEUE_PREFIX;
  if (!base) throw new Error('QUEUE_PREFIX is unset: run through jest so test/support/global-setup.ts creates the test services');
  return `${base}-${tag}-${randomBytes(2).toString('hex')}`;
}

/** Rate limits far above what any test sends, except in the tests of the limits themselves. */
export const TEST_RATE_LIMITS = { RATE_LIMIT_SUBMITS: '100000', RATE_LIMIT_HEAVY_READS: '100000' };

export function testApiConfig(tag: string, overrides: Record<string, string> = {}): ApiConfig {
  return loadApiConfig({ ...process.env, QUEUE_PREFIX: uniqueQueuePrefix(tag), MAX_EPOCHS: '20', MAX_BATCH_SIZE: '512', ...TEST_RATE_LIMITS, ...overrides });
}
