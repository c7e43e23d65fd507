import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Rows written without a tenant (every run from before tenants existed) belong to this one; the migration creates it. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000000';
export const DEFAULT_TENANT_NAME = 'default';

/** Tenant names reach logs, commands and URLs: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit. */
export const TENANT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Who owns runs: every run, evaluation, checkpoint and model belongs to exactly one tenant, and API keys act for one. */
@Entity({ name: 'tenants' })
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
