import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RunIdPipe } from '../runs/run-id.pipe';
import { LineageService } from './lineage.service';

@ApiTags('runs')
@Controller('runs')
export class LineageController {
  constructor(private readonly lineage: LineageService) {}

  @Get(':id/lineage')
  @ApiOperation({ summary: 'The run\'s ancestors (fine-tuned from, distilled from), root first, each with its evaluations; and its direct descendants' })
  get(@Param('id', RunIdPipe) id: string) {
    return this.lineage.lineage(id);
  }
}
