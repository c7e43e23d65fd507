import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { QueuesResponse } from './queues.response';
import { QueuesService } from './queues.service';

/**
 * Admin only: the counts are cluster-wide, so a member would learn how busy other tenants keep
 * the workers. A member's own queued and running runs are GET /runs?status=… .
 */
@ApiTags('queues')
@ApiBearerAuth()
@Controller('queues')
export class QueuesController {
  constructor(private readonly queues: QueuesService) {}

  @Get()
  @RequireRole('admin')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'Waiting, active, delayed and failed jobs per queue (all tenants), and the connected workers' })
  @ApiOkResponse({ type: QueuesResponse })
  @ApiForbiddenResponse({ description: 'the key is not of role admin' })
  overview(): Promise<QueuesResponse> {
    return this.queues.overview();
  }
}
