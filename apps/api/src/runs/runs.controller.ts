import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res, StreamableFile } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Run } from '@bulwark/database';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { createdOrReplayed, parseIdempotencyKey } from '../common/idempotency-key';
import { CreateRunDto } from './dto/create-run.dto';
import { ListRunsQueryDto } from './dto/list-runs-query.dto';
import { MetricsQueryDto } from './dto/metrics-query.dto';
import { ResumeRunDto } from './dto/resume-run.dto';
import { toRunCheckpointsResponse } from './checkpoint.mapper';
import { RunCheckpointsResponse } from './checkpoint.response';
import { toRunMetricsResponse } from './metric.mapper';
import { RunMetricsResponse } from './metric.response';
import { RunIdPipe } from './run-id.pipe';
import { toRunPageResponse, toRunResponse } from './run.mapper';
import { RunPageResponse, RunResponse } from './run.response';
import { RunsService } from './runs.service';
import { WorkerPresenceService } from './worker-presence.service';

@ApiTags('runs')
@ApiBearerAuth()
@Controller('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly presence: WorkerPresenceService,
  ) {}

  @Post()
  @RateLimit('submits')
  @ApiOperation({ summary: 'Submit a training or adversarial-training run' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same run' })
  @ApiCreatedResponse({ type: RunResponse, description: 'The run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateRunDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RunResponse> {
    return this.respond(createdOrReplayed(res, await this.runs.create(caller.tenantId, dto, parseIdempotencyKey(idempotencyKey))));
  }

  @Post('resume')
  @RateLimit('submits')
  @ApiOperation({
    summary: 'Resume a run carried over from another database',
    description:
      'The run as submitted to POST /runs, its newest checkpoint (base64, with its SHA-256 and format, as GET /runs/:id/checkpoints lists it) ' +
      'and its metrics up to that epoch. ' +
      "Stored as a queued run that resumes after the checkpoint's epoch. The body may be as large as MODEL_UPLOAD_LIMIT_BYTES.",
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same run' })
  @ApiCreatedResponse({ type: RunResponse, description: 'The run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async resume(
    @CurrentCaller() caller: Caller,
    @Body() dto: ResumeRunDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RunResponse> {
    return this.respond(createdOrReplayed(res, await this.runs.resume(caller.tenantId, dto, parseIdempotencyKey(idempotencyKey))));
  }

  @Get()
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: "List the tenant's runs, newest first; filter by status and kind" })
  @ApiOkResponse({ type: RunPageResponse })
  async list(@CurrentCaller() caller: Caller, @Query() query: ListRunsQueryDto): Promise<RunPageResponse> {
    const page = await this.runs.list(caller.tenantId, query);
    return toRunPageResponse(page, await this.presence.waitReasons(page.items));
  }

  @Get(':id')
  @ApiOkResponse({ type: RunResponse })
  @ApiNotFoundResponse()
  async get(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<RunResponse> {
    return this.respond(await this.runs.get(caller.tenantId, id));
  }

  @Get(':id/metrics')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'Metric points of a run, ordered by key then step' })
  @ApiOkResponse({ type: RunMetricsResponse })
  @ApiNotFoundResponse()
  async metrics(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string, @Query() query: MetricsQueryDto): Promise<RunMetricsResponse> {
    return toRunMetricsResponse(id, await this.runs.metricsOf(caller.tenantId, id, query.key));
  }

  @Get(':id/checkpoints')
  @ApiOperation({ summary: 'Checkpoints of a run (metadata; download each from its own URL)' })
  @ApiOkResponse({ type: RunCheckpointsResponse })
  @ApiNotFoundResponse()
  async checkpoints(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<RunCheckpointsResponse> {
    return toRunCheckpointsResponse(id, await this.runs.checkpointsOf(caller.tenantId, id));
  }

  @Get(':id/checkpoints/:checkpointId')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'Download the bytes of one checkpoint' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' }, description: 'The checkpoint; its SHA-256 in the Digest header' })
  @ApiNotFoundResponse()
  async downloadCheckpoint(
    @CurrentCaller() caller: Caller,
    @Param('id', RunIdPipe) id: string,
    @Param('checkpointId', RunIdPipe) checkpointId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const checkpoint = await this.runs.checkpointData(caller.tenantId, id, checkpointId);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="run-${id}-epoch-${checkpoint.epoch}.bwckpt"`);
    res.setHeader('Digest', `sha-256=${Buffer.from(checkpoint.sha256, 'hex').toString('base64')}`);
    return new StreamableFile(checkpoint.data);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a run: a queued run never starts; a running one stops at the next batch' })
  @ApiAcceptedResponse({ type: RunResponse, description: 'The run: cancelled if it was queued, still running (with cancelRequestedAt) if a worker has it' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The run has already ended' })
  async cancel(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<RunResponse> {
    return this.respond(await this.runs.cancel(caller.tenantId, id));
  }

  private async respond(run: Run): Promise<RunResponse> {
    return toRunResponse(run, await this.presence.waitingFor(run));
  }
}
