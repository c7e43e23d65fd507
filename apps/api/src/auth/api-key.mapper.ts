import type { ApiKeyRecord } from '@bulwark/database';
import type { ApiKeyListResponse, ApiKeyResponse, CreatedApiKeyResponse } from './api-key.response';

/** Field by field, like the run mapper: nothing stored reaches a client unless named here. */
export function toApiKeyResponse(record: ApiKeyRecord): ApiKeyResponse {
  return { id: record.id, tenant: record.tenant, role: record.role, prefix: record.prefix, createdAt: record.createdAt, revokedAt: record.revokedAt };
}

export function toCreatedApiKeyResponse(record: ApiKeyRecord, key: string): CreatedApiKeyResponse {
  return Object.assign(toApiKeyResponse(record), { key });
}

export function toApiKeyListResponse(records: ApiKeyRecord[]): ApiKeyListResponse {
  return { items: records.map(toApiKeyResponse) };
}
