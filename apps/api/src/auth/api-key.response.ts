import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { API_KEY_ROLES, type ApiKeyRole } from '@bulwark/database';

/** A key as listed: never the key, only its first characters. */
export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid', description: 'What DELETE /admin/keys/:id and `npm run keys -- revoke` take' })
  id: string;

  @ApiProperty({ example: 'acme' })
  tenant: string;

  @ApiProperty({ enum: API_KEY_ROLES })
  role: ApiKeyRole;

  @ApiProperty({ example: 'bwk_Xp3k9QzA', description: 'The first characters of the key' })
  prefix: string;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty({ type: Date, nullable: true })
  revokedAt: Date | null;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiPropertyOptional({ description: 'The key: shown in this answer only (only its hash is stored)' })
  key: string;
}

export class ApiKeyListResponse {
  @ApiProperty({ type: [ApiKeyResponse] })
  items: ApiKeyResponse[];
}
