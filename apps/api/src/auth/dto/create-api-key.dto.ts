import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { API_KEY_ROLES } from '@bulwark/database';

/** Body of POST /admin/keys: a key for the caller's own tenant (an operator's `npm run keys` makes tenants). */
export const createApiKeyRequestSchema = z.strictObject({
  role: z.enum(API_KEY_ROLES).describe('admin: manages the tenant’s keys, and all a member may do; member: runs, evaluations and models'),
});

export class CreateApiKeyDto extends createZodDto(createApiKeyRequestSchema) {}
