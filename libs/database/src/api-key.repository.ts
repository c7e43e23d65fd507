import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { ApiKey, ApiKeyRole } from './entities/api-key.entity';
import { TENANT_NAME_PATTERN, Tenant } from './entities/tenant.entity';

/** Who a request acts for, once its key is known. */
export interface Caller {
  keyId: string;
  tenantId: string;
  tenantName: string;
  role: ApiKeyRole;
}

/** A key's public record: what listings show and what revocation names. */
export interface ApiKeyRecord {
  id: string;
  tenant: string;
  role: ApiKeyRole;
  /** The key's first characters (the key itself is never stored). */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A key as created: the only time the key itself exists outside its holder's hands. */
export interface CreatedApiKey {
  key: string;
  record: ApiKeyRecord;
}

const KEY_PREFIX = 'bwk_';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 8;

/**
 * A key is 256 random bits, so a plain SHA-256 is the right hash: a slow password hash (bcrypt,
 * scrypt) guards low-entropy secrets against guessing, which cannot succeed against 2^256 keys,
 * and it would cost every request tens of milliseconds. A fast hash also lets the lookup be
 * one indexed equality, with no per-key salt to try.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Tenants and their API keys. A plain class over a DataSource, like RunRepository (the keys CLI builds one without Nest). */
export class ApiKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A new key for the tenant of that name, creating the tenant the first time its name is used (the operator's command). */
  async createForTenantName(tenantName: string, role: ApiKeyRole): Promise<CreatedApiKey> {
    if (!TENANT_NAME_PATTERN.test(tenantName)) {
      throw new Error(`tenant name "${tenantName.slice(0, 80)}" must be 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit`);
    }
    // The no-op update makes RETURNING give the id of a tenant that already exists.
    const [{ id }]: { id: string }[] = await this.dataSource.query(
      `INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [tenantName],
    );
    return this.createForTenant(id, role);
  }

  /** A new key of an existing tenant (an admin's request). */
  async createForTenant(tenantId: string, role: ApiKeyRole): Promise<CreatedApiKey> {
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const stored = await this.dataSource
      .getRepository(ApiKey)
      .save({ tenantId, role, keyHash: hashApiKey(key), keyPrefix: key.slice(0, SHOWN_PREFIX_LENGTH), revokedAt: null });
    const tenant = await this.dataSource.getRepository(Tenant).findOneByOrFail({ id: tenantId });
    return { key, record: toRecord(stored, tenant.name) };
  }

  /** The caller a key acts for, or null for an unknown or revoked key. */
  async authenticate(key: string): Promise<Caller | null> {
    const rows: ({ id: string; tenant_id: string; name: string; role: ApiKeyRole } | undefined)[] = await this.dataSource.query(
      `SELECT k.id, k.tenant_id, t.name, k.role FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
       WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [hashApiKey(key)],
    );
    const [row] = rows;
    return row ? { keyId: row.id, tenantId: row.tenant_id, tenantName: row.name, role: row.role } : null;
  }

  /** Keys, newest first: one tenant's, or every tenant's for the operator's command. */
  async list(scope: { tenantId?: string; tenantName?: string } = {}): Promise<ApiKeyRecord[]> {
    const keys = await this.dataSource.getRepository(ApiKey).find({
      where: { ...(scope.tenantId && { tenantId: scope.tenantId }), ...(scope.tenantName && { tenant: { name: scope.tenantName } }) },
      relations: { tenant: true },
      order: { createdAt: 'DESC', id: 'ASC' },
    });
    return keys.map((k) => toRecord(k, k.tenant?.name ?? ''));
  }

  /**
   * Revokes a key (at once: the next request with it gets 401). Only within the tenant when one
   * is given. Returns the key's record (revoking a revoked key changes nothing), or null when no
   * such key exists there.
   */
  async revoke(keyId: string, tenantId?: string): Promise<ApiKeyRecord | null> {
    // Not a uuid: no key has that id (and Postgres would refuse to compare it).
    if (!UUID.test(keyId)) return null;
    const where = { id: keyId, ...(tenantId && { tenantId }) };
    await this.dataSource.getRepository(ApiKey).update({ ...where, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    const key = await this.dataSource.getRepository(ApiKey).findOne({ where, relations: { tenant: true } });
    return key ? toRecord(key, key.tenant?.name ?? '') : null;
  }
}

function toRecord(key: Pick<ApiKey, 'id' | 'role' | 'keyPrefix' | 'createdAt' | 'revokedAt'>, tenant: string): ApiKeyRecord {
  return { id: key.id, tenant, role: key.role, prefix: key.keyPrefix, createdAt: key.createdAt, revokedAt: key.revokedAt };
}
