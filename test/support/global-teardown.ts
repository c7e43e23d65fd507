import { deleteRedisKeys, withAdminClient } from './test-services';

export default async function globalTeardown(): Promise<void> {
  globalThis.__bulwarkTestRefs = (globalThis.__bulwarkTestRefs ?? 1) - 1;
  if (globalThis.__bulwarkTestRefs > 0) return;
  const database = process.env.BULWARK_TEST_DATABASE;
  if (database) {
    await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    delete process.env.BULWARK_TEST_DATABASE;
  }
  if (process.env.QUEUE_PREFIX?.startsWith('bulwark-test-')) await deleteRedisKeys(process.env.QUEUE_PREFIX);
}
