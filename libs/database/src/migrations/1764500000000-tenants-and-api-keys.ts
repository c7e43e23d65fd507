import { MigrationInterface, QueryRunner } from 'typeorm';
import { DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME } from '../entities/tenant.entity';

/**
 * Tenants and their API keys. Every run now belongs to a tenant: runs stored before this
 * migration go to the default tenant (an operator reaches them with a key of tenant "default"),
 * which is also the column's default, so a row written without a tenant (by hand, in SQL) is
 * never left without one. Idempotency keys become per tenant: two tenants may use the same one.
 */
export class TenantsAndApiKeys1764500000000 implements MigrationInterface {
  name = 'TenantsAndApiKeys1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, [DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME]);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        role varchar(16) NOT NULL CHECK (role IN ('admin', 'member')),
        key_hash char(64) NOT NULL UNIQUE,
        key_prefix varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id)`);

    await q.query(`ALTER TABLE runs ADD COLUMN tenant_id uuid REFERENCES tenants(id)`);
    await q.query(`UPDATE runs SET tenant_id = $1`, [DEFAULT_TENANT_ID]);
    await q.query(`ALTER TABLE runs ALTER COLUMN tenant_id SET DEFAULT '${DEFAULT_TENANT_ID}', ALTER COLUMN tenant_id SET NOT NULL`);
    // Lists are per tenant, newest first.
    await q.query(`CREATE INDEX runs_tenant_created_idx ON runs (tenant_id, created_at)`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_idempotency_key_key`);
    await q.query(`ALTER TABLE runs ADD CONSTRAINT runs_tenant_idempotency_key_uq UNIQUE (tenant_id, idempotency_key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_tenant_idempotency_key_uq`);
    // Fails where two tenants used the same key: a down migration must not pick one of their runs to lose it.
    await q.query(`ALTER TABLE runs ADD CONSTRAINT runs_idempotency_key_key UNIQUE (idempotency_key)`);
    await q.query(`DROP INDEX runs_tenant_created_idx`);
    await q.query(`ALTER TABLE runs DROP COLUMN tenant_id`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE tenants`);
  }
}
