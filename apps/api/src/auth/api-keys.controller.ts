import { Body, Controller, Delete, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyRepository } from '@bulwark/database';
import { RunIdPipe } from '../runs/run-id.pipe';
import { toApiKeyListResponse, toApiKeyResponse, toCreatedApiKeyResponse } from './api-key.mapper';
import { ApiKeyListResponse, ApiKeyResponse, CreatedApiKeyResponse } from './api-key.response';
import { Caller, CurrentCaller, RequireRole } from './caller.decorator';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

/** An admin key manages the keys of its own tenant; tenants themselves are the operator's (`npm run keys`). */
@ApiTags('admin')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'the key is not an admin key' })
@RequireRole('admin')
@Controller('admin/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyRepository) {}

  @Post()
  @ApiOperation({ summary: "Create an API key of the caller's tenant; the answer holds the key, which is never shown again" })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  async create(@CurrentCaller() caller: Caller, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const { key, record } = await this.keys.createForTenant(caller.tenantId, dto.role);
    return toCreatedApiKeyResponse(record, key);
  }

  @Get()
  @ApiOperation({ summary: "The tenant's keys, newest first, revoked ones included (without the keys themselves)" })
  @ApiOkResponse({ type: ApiKeyListResponse })
  async list(@CurrentCaller() caller: Caller): Promise<ApiKeyListResponse> {
    return toApiKeyListResponse(await this.keys.list({ tenantId: caller.tenantId }));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key of the tenant: requests with it get 401 from now on' })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiNotFoundResponse({ description: 'no key with this id in the tenant' })
  async revoke(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<ApiKeyResponse> {
    const record = await this.keys.revoke(id, caller.tenantId);
    if (!record) throw new NotFoundException(`key ${id} not found`);
    return toApiKeyResponse(record);
  }
}
