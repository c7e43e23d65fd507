import { runMigrations } from '../../libs/database/src/run-migrations';
import { databaseUrlFor, withAdminClient } from './test-services';

export interface ScratchDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * A migrated database of one test file's own, beside the run's: for tests whose workers'
 * reconciler must see only their own runs (every queued or running run of a database is its
 * business, and the other files' clusters share the run's database under other queue prefixes).
 */
export async function createScratchDatabase(tag: string): Promise<ScratchDatabase> {
  const base = process.env.BULWARK_TEST_DATABASE;
  if (!base) throw new Error('BULWARK_TEST_DATABASE is unset: run through jest so test/support/global-setup.ts creates the test services');
  const name = `${base}_${tag}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE ${name}`));
  const url = databaseUrlFor(name);
  await runMigrations(url);
  return { url, drop: () => withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}
