import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { RunIdPipe } from '../runs/run-id.pipe';
import { toLineageResponse } from './lineage.mapper';
import { LineageResponse } from './lineage.response';
import { LineageService } from './lineage.service';

@ApiTags('runs')
@ApiBearerAuth()
@Controller('runs')
export class LineageController {
  constructor(private readonly lineage: LineageService) {}

  @Get(':id/lineage')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: "The run's ancestors (fine-tuned from, distilled from), root first, each with its evaluations; and its direct descendants" })
  @ApiOkResponse({ type: LineageResponse })
  @ApiNotFoundResponse({ description: "no run with this id, or the id is an evaluation's" })
  async get(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<LineageResponse> {
    return toLineageResponse(await this.lineage.lineage(caller.tenantId, id));
  }
}
