import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { createdOrReplayed, parseIdempotencyKey } from '../common/idempotency-key';
import { RunIdPipe } from '../runs/run-id.pipe';
import { CreateEvaluationDto } from './dto/create-evaluation.dto';
import { ListEvaluationsQueryDto } from './dto/list-evaluations-query.dto';
import { PredictDto } from './dto/predict.dto';
import { EvaluationsService } from './evaluations.service';

@ApiTags('evaluations')
@Controller('evaluations')
export class EvaluationsController {
  constructor(private readonly evaluations: EvaluationsService) {}

  @Post()
  @ApiOperation({ summary: 'Evaluate a checkpoint: clean and robust accuracy per attack and for the worst case, at every ε; with detectors, their detection rates and the stack\'s robust accuracy' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(
    @Body() dto: CreateEvaluationDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return createdOrReplayed(res, await this.evaluations.create(dto, parseIdempotencyKey(idempotencyKey)));
  }

  @Get()
  @ApiOperation({ summary: 'Evaluations, newest first, each with its curve; filter by the evaluated run to compare them' })
  list(@Query() query: ListEvaluationsQueryDto) {
    return this.evaluations.list(query.runId);
  }

  @Get(':id')
  @ApiOperation({ summary: 'An evaluation: its run, robustness curve, validity flags, adversarial examples and, with detectors, its detection section' })
  get(@Param('id', RunIdPipe) id: string) {
    return this.evaluations.get(id);
  }

  @Post(':id/predict')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Classify inputs with the evaluated stack (defense → model → detector): per input a class, or "rejected as adversarial"',
    description: 'A worker rebuilds the stack from the evaluation (the detector refitted deterministically) and answers; the API waits up to PREDICT_TIMEOUT_MS.',
  })
  @ApiResponse({ status: 200, description: '{ evaluationId, detector: { kind, threshold, targetFpr }, predictions: [{ rejected: false, label, className, score } | { rejected: true, reason: "rejected as adversarial", detector, score }] }' })
  @ApiResponse({ status: 400, description: 'inputs of the wrong length or outside [0,1], too many, or a detector the evaluation lacks (the message names the field)' })
  @ApiResponse({ status: 404, description: 'no evaluation with this id' })
  @ApiResponse({ status: 409, description: 'the evaluation has no detectors, or has not succeeded' })
  @ApiResponse({ status: 504, description: 'no worker answered within PREDICT_TIMEOUT_MS' })
  predict(@Param('id', RunIdPipe) id: string, @Body() dto: PredictDto) {
    return this.evaluations.predict(id, dto);
  }
}
