import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RunIdPipe } from '../runs/run-id.pipe';
import { toLineageResponse } from './lineage.mapper';
import { LineageResponse } from './lineage.response';
import { LineageService } from './lineage.service';

@ApiTags('runs')
@Controller('runs')
export class LineageController {
  constructor(private readonly lineage: LineageService) {}

  @Get(':id/lineage')
  @ApiOperation({ summary: "The run's ancestors (fine-tuned from, distilled from), root first, each with its evaluations; and its direct descendants" })
  @ApiOkResponse({ type: LineageResponse })
  @ApiNotFoundResponse({ description: "no run with this id, or the id is an evaluation's" })
  async get(@Param('id', RunIdPipe) id: string): Promise<LineageResponse> {
    return toLineageResponse(await this.lineage.lineage(id));
  }
}
