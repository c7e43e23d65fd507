import { randomBytes } from 'node:crypto';
import { runMigrations } from '../../libs/database/src/run-migrations';
import { TEST_REDIS_URL, databaseUrlFor, withAdminClient } from './test-services';

declare global {
  var __bulwarkTestRefs: number | undefined;
}

/**
 * Creates one database (migrated by the same code `npm run migrate` runs) and one Redis prefix
 * for this jest invocation. Both the integration and e2e projects name this file; the second
 * call reuses the first's database (jest runs every project's setup in this one process).
 */
export default async function globalSetup(): Promise<void> {
  globalThis.__bulwarkTestRefs = (globalThis.__bulwarkTestRefs ?? 0) + 1;
  if (process.env.BULWARK_TEST_DATABASE) return;

  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const database = `bulwark_test_${id}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE ${database}`));
  const databaseUrl = databaseUrlFor(database);
  await runMigrations(databaseUrl);

  process.env.BULWARK_TEST_DATABASE = database;
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = TEST_REDIS_URL;
  process.env.QUEUE_PREFIX = `bulwark-test-${id}`;
}
