import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DEFAULT_TENANT_ID, MIGRATIONS, dataSourceOptions, runMigrations } from '../../libs/database/src';
import { databaseUrlFor, withAdminClient } from '../support/test-services';

/** The migration that brought tenants: runs stored before it must all belong to the default tenant after it. */
const TENANTS_MIGRATION = 1764500000000;
const timestampOf = (migration: (typeof MIGRATIONS)[number]) => Number(/(\d{13})$/.exec(migration.name)![1]);

describe('migrating a database from before tenants (real Postgres)', () => {
  const database = `bulwark_test_tenants_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const databaseUrl = databaseUrlFor(database);
  let dataSource: DataSource;

  beforeAll(async () => {
    await withAdminClient((c) => c.query(`CREATE DATABASE ${database}`));
    // The schema as it was: every migration before tenants, and nothing after.
    const before = MIGRATIONS.filter((m) => timestampOf(m) < TENANTS_MIGRATION);
    const old = await new DataSource({ ...dataSourceOptions(databaseUrl, 'bulwark-test-old-schema'), migrations: before }).initialize();
    await old.runMigrations({ transaction: 'each' });
    await old.query(`
      INSERT INTO runs (kind, status, spec, idempotency_key) VALUES
        ('train', 'succeeded', '{"kind":"train"}', 'old-1'),
        ('adversarial-training', 'queued', '{"kind":"adversarial-training"}', 'old-2'),
        ('train', 'failed', '{"kind":"train"}', NULL)`);
    await old.destroy();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  it('gives every existing run to the default tenant, then requires a tenant and keeps idempotency keys per tenant', async () => {
    const applied = await runMigrations(databaseUrl);
    expect(applied).toContain(`TenantsAndApiKeys${TENANTS_MIGRATION}`);
    dataSource = await new DataSource(dataSourceOptions(databaseUrl, 'bulwark-test-new-schema')).initialize();

    expect(await dataSource.query(`SELECT id, name FROM tenants`)).toEqual([{ id: DEFAULT_TENANT_ID, name: 'default' }]);
    const runs: { tenant_id: string; idempotency_key: string | null }[] = await dataSource.query(`SELECT tenant_id, idempotency_key FROM runs`);
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.tenant_id === DEFAULT_TENANT_ID)).toBe(true);
    const [{ is_nullable }] = await dataSource.query(
      `SELECT is_nullable FROM information_schema.columns WHERE table_name = 'runs' AND column_name = 'tenant_id'`,
    );
    expect(is_nullable).toBe('NO');
    await expect(dataSource.query(`UPDATE runs SET tenant_id = NULL`)).rejects.toThrow(/null value in column "tenant_id"/);

    const [{ id: other }] = await dataSource.query(`INSERT INTO tenants (name) VALUES ('other') RETURNING id`);
    await dataSource.query(`INSERT INTO runs (tenant_id, kind, status, spec, idempotency_key) VALUES ($1, 'train', 'queued', '{}', 'old-1')`, [other]);
    await expect(dataSource.query(`INSERT INTO runs (kind, status, spec, idempotency_key) VALUES ('train', 'queued', '{}', 'old-1')`)).rejects.toThrow(
      /runs_tenant_idempotency_key_uq/,
    );
    await expect(dataSource.query(`INSERT INTO tenants (name) VALUES ('../etc')`)).rejects.toThrow(/check constraint/);
  });
});
