import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { assertServicesReachable, loadMigrateConfig } from '@bulwark/config';
import { ApiKeyRepository } from './api-key.repository';
import { API_KEY_ROLES, ApiKeyRole } from './entities/api-key.entity';
import { dataSourceOptions } from './data-source-options';

const USAGE = `usage:
  npm run -s keys -- create --tenant NAME --role admin|member   a new key (the tenant is created on first use); the key is the last line
  npm run -s keys -- revoke KEY_ID                              revoke a key at once
  npm run -s keys -- list [--tenant NAME]                       keys (id, tenant, role, prefix, created, revoked), newest first`;

class UsageError extends Error {}

/**
 * `npm run keys`: the operator's way to hand out and withdraw API keys, straight against the
 * database (DATABASE_URL), so the first admin key exists before anyone can call the API.
 */
async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { tenant: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!command) throw new UsageError('a command is required');

  const { databaseUrl } = loadMigrateConfig();
  await assertServicesReachable({ databaseUrl });
  const dataSource = new DataSource(dataSourceOptions(databaseUrl, 'bulwark-keys'));
  await dataSource.initialize();
  try {
    const keys = new ApiKeyRepository(dataSource);
    switch (command) {
      case 'create': {
        if (!values.tenant) throw new UsageError('create needs --tenant NAME');
        if (!(API_KEY_ROLES as readonly string[]).includes(values.role ?? '')) throw new UsageError('create needs --role admin or --role member');
        const { key, record } = await keys.createForTenantName(values.tenant, values.role as ApiKeyRole);
        console.log(`created key ${record.id} (${record.prefix}…) for tenant ${record.tenant}, role ${record.role}; it is shown only now:`);
        console.log(key);
        return;
      }
      case 'revoke': {
        if (rest.length !== 1) throw new UsageError('revoke needs one KEY_ID (as create or list printed it)');
        const record = await keys.revoke(rest[0]);
        if (!record) throw new Error(`no key with id ${rest[0].slice(0, 64)}`);
        console.log(`revoked key ${record.id} (${record.prefix}…) of tenant ${record.tenant}`);
        return;
      }
      case 'list': {
        for (const k of await keys.list({ tenantName: values.tenant })) {
          const revoked = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
          console.log(`${k.id}  ${k.tenant}  ${k.role}  ${k.prefix}…  created ${k.createdAt.toISOString()}  ${revoked}`);
        }
        return;
      }
      default:
        throw new UsageError(`unknown command "${command.slice(0, 32)}"`);
    }
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`keys: ${message}`);
  if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error(USAGE);
  process.exit(err instanceof UsageError ? 2 : 1);
});
