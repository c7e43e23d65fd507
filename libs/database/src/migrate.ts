import 'reflect-metadata';
import { assertServicesReachable, loadMigrateConfig } from '@bulwark/config';
import { runMigrations } from './run-migrations';

/** `npm run migrate`: the explicit schema step, run before api and worker start. */
async function main(): Promise<void> {
  const { databaseUrl } = loadMigrateConfig();
  await assertServicesReachable({ databaseUrl });
  const applied = await runMigrations(databaseUrl);
  console.log(applied.length ? `migrate: applied ${applied.join(', ')}` : 'migrate: schema is up to date');
}

main().catch((err: unknown) => {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
