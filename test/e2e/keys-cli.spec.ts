import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKeyRepository, dataSourceOptions } from '../../libs/database/src';
import { assertBuilt } from '../support/processes';

const ROOT = join(__dirname, '..', '..');

/** `npm run -s keys -- <args>` as an operator types it, against the test database. */
function keys(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npm', ['run', '-s', 'keys', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the keys admin command (npm run keys, from dist/)', () => {
  let dataSource: DataSource;
  let repository: ApiKeyRepository;

  beforeAll(async () => {
    assertBuilt();
    dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'bulwark-e2e-keys')).initialize();
    repository = new ApiKeyRepository(dataSource);
  });
  afterAll(() => dataSource?.destroy());

  it('creates a key that prints alone on the last line and authenticates as its tenant and role; revoke ends it', async () => {
    const tenant = `cli-${randomBytes(4).toString('hex')}`;
    const created = keys('create', '--tenant', tenant, '--role', 'admin');
    expect([created.status, created.stderr]).toEqual([0, '']);
    const lines = created.stdout.trimEnd().split('\n');
    const key = lines[lines.length - 1];
    expect(key).toMatch(/^bwk_[A-Za-z0-9_-]{43}$/);
    const caller = await repository.authenticate(key);
    expect(caller).toMatchObject({ tenantName: tenant, role: 'admin' });

    const listed = keys('list', '--tenant', tenant);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(`${caller!.keyId}  ${tenant}  admin  ${key.slice(0, 12)}…`);
    expect(listed.stdout).not.toContain(key);

    const revoked = keys('revoke', caller!.keyId);
    expect([revoked.status, revoked.stdout.trim()]).toEqual([0, `revoked key ${caller!.keyId} (${key.slice(0, 12)}…) of tenant ${tenant}`]);
    expect(await repository.authenticate(key)).toBeNull();
    expect(keys('list', '--tenant', tenant).stdout).toMatch(/ revoked \d{4}-/);
  });

  it('refuses bad arguments with a message and the usage, creating nothing', async () => {
    const tenant = `cli-${randomBytes(4).toString('hex')}`;
    const badRole = keys('create', '--tenant', tenant, '--role', 'root');
    expect(badRole.status).toBe(2);
    expect(badRole.stderr).toMatch(/keys: create needs --role admin or --role member\nusage:/);
    const badTenant = keys('create', '--tenant', '../../etc', '--role', 'member');
    expect(badTenant.status).toBe(1);
    expect(badTenant.stderr).toMatch(/tenant name "..\/..\/etc" must be/);
    const unknown = keys('revoke', '00000000-0000-4000-8000-00000000dead');
    expect([unknown.status, unknown.stderr.trim()]).toEqual([1, 'keys: no key with id 00000000-0000-4000-8000-00000000dead']);
    expect(await repository.list({ tenantName: tenant })).toEqual([]);
  });
});
