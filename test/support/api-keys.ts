import { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiKeyRepository, type ApiKeyRole, DEFAULT_TENANT_NAME, dataSourceOptions } from '../../libs/database/src';

/** supertest against an app, every request sent with one API key. */
export type HttpClient = () => ReturnType<typeof request.agent>;

export interface TestKeyOptions {
  /** Default "default": the tenant of rows a test writes straight into the database (the column's default). */
  tenant?: string;
  role?: ApiKeyRole;
}

/** A new API key, created as `npm run keys -- create` creates one, in the database of `dataSource`. */
export async function createTestKey(dataSource: DataSource, { tenant = DEFAULT_TENANT_NAME, role = 'member' }: TestKeyOptions = {}): Promise<string> {
  return (await new ApiKeyRepository(dataSource).createForTenantName(tenant, role)).key;
}

/** The same against a database URL, for tests whose API runs in another process. */
export async function createTestKeyAt(databaseUrl: string, options: TestKeyOptions = {}): Promise<string> {
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl, 'bulwark-test-keys')).initialize();
  try {
    return await createTestKey(dataSource, options);
  } finally {
    await dataSource.destroy();
  }
}

/** An HTTP client of an app built with createApiApp, authenticated with a new key (a member of the default tenant unless told otherwise). */
export async function keyedHttp(app: INestApplication, options: TestKeyOptions = {}): Promise<HttpClient> {
  const key = await createTestKey(app.get(DataSource), options);
  const agent = request.agent(app.getHttpServer() as Server).set('Authorization', `Bearer ${key}`);
  return () => agent;
}
