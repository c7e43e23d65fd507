import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { createdOrReplayed, parseIdempotencyKey } from '../common/idempotency-key';
import { RunIdPipe } from '../runs/run-id.pipe';
import { toRunResponse } from '../runs/run.mapper';
import { RunResponse } from '../runs/run.response';
import { WorkerPresenceService } from '../runs/worker-presence.service';
import { CreateEvaluationDto } from './dto/create-evaluation.dto';
import { ListEvaluationsQueryDto } from './dto/list-evaluations-query.dto';
import { PredictDto } from './dto/predict.dto';
import { toEvaluationListResponse, toEvaluationResponse } from './evaluation.mapper';
import { EvaluationListResponse, EvaluationResponse } from './evaluation.response';
import { EvaluationsService } from './evaluations.service';

@ApiTags('evaluations')
@ApiBearerAuth()
@Controller('evaluations')
export class EvaluationsController {
  constructor(
    private readonly evaluations: EvaluationsService,
    private readonly presence: WorkerPresenceService,
  ) {}

  @Post()
  @RateLimit('submits')
  @ApiOperation({
    summary:
      'Evaluate a checkpoint: clean and robust accuracy per attack and for the worst case, at every ε; ' +
      "with detectors, their detection rates and the stack's robust accuracy",
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiCreatedResponse({ type: RunResponse, description: 'The evaluation run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateEvaluationDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RunResponse> {
    const run = createdOrReplayed(res, await this.evaluations.create(caller.tenantId, dto, parseIdempotencyKey(idempotencyKey)));
    return toRunResponse(run, await this.presence.waitingFor(run));
  }

  @Get()
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'Evaluations, newest first, each with its curve; filter by the evaluated run to compare them' })
  @ApiOkResponse({ type: EvaluationListResponse })
  async list(@CurrentCaller() caller: Caller, @Query() query: ListEvaluationsQueryDto): Promise<EvaluationListResponse> {
    const { evaluations, rows, shards } = await this.evaluations.list(caller.tenantId, query.runId);
    return toEvaluationListResponse(evaluations, rows, shards, await this.presence.waitReasons(evaluations));
  }

  @Get(':id')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'An evaluation: its run, robustness curve, validity flags, adversarial examples and, with detectors, its detection section' })
  @ApiOkResponse({ type: EvaluationResponse })
  @ApiNotFoundResponse({ description: 'no evaluation with this id' })
  async get(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<EvaluationResponse> {
    const record = await this.evaluations.get(caller.tenantId, id);
    return toEvaluationResponse(record, await this.presence.waitingFor(record.run));
  }

  @Post(':id/predict')
  @RateLimit('submits')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Classify inputs with the evaluated stack (defense → model → detector): per input a class, or "rejected as adversarial"',
    description:
      'A worker rebuilds the stack from the evaluation (the detector refitted deterministically) and answers; the API waits up to PREDICT_TIMEOUT_MS.',
  })
  @ApiResponse({
    status: 200,
    description:
      '{ evaluationId, detector: { kind, threshold, targetFpr }, ' +
      'predictions: [{ rejected: false, label, className, score } | { rejected: true, reason: "rejected as adversarial", detector, score }] }',
  })
  @ApiResponse({
    status: 400,
    description: 'inputs of the wrong length or outside [0,1], too many, or a detector the evaluation lacks (the message names the field)',
  })
  @ApiResponse({ status: 404, description: 'no evaluation with this id' })
  @ApiResponse({ status: 409, description: 'the evaluation has no detectors, or has not succeeded' })
  @ApiResponse({ status: 504, description: 'no worker answered within PREDICT_TIMEOUT_MS' })
  predict(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string, @Body() dto: PredictDto) {
    return this.evaluations.predict(caller.tenantId, id, dto);
  }
}
