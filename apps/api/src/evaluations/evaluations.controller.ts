import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { parseIdempotencyKey } from '../common/idempotency-key';
import { RunIdPipe } from '../runs/run-id.pipe';
import { CreateEvaluationDto } from './dto/create-evaluation.dto';
import { ListEvaluationsQueryDto } from './dto/list-evaluations-query.dto';
import { EvaluationsService } from './evaluations.service';

@ApiTags('evaluations')
@Controller('evaluations')
export class EvaluationsController {
  constructor(private readonly evaluations: EvaluationsService) {}

  @Post()
  @ApiOperation({ summary: 'Evaluate a checkpoint: clean and robust accuracy per attack and for the worst case, at every ε' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(
    @Body() dto: CreateEvaluationDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { run, replayed } = await this.evaluations.create(dto, parseIdempotencyKey(idempotencyKey));
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return run;
  }

  @Get()
  @ApiOperation({ summary: 'Evaluations, newest first, each with its curve; filter by the evaluated run to compare them' })
  list(@Query() query: ListEvaluationsQueryDto) {
    return this.evaluations.list(query.runId);
  }

  @Get(':id')
  @ApiOperation({ summary: 'An evaluation: its run, robustness curve, validity flags and adversarial examples' })
  get(@Param('id', RunIdPipe) id: string) {
    return this.evaluations.get(id);
  }
}
