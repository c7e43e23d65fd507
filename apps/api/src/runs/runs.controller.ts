import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiHeader, ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { createdOrReplayed, parseIdempotencyKey } from '../common/idempotency-key';
import { CreateRunDto } from './dto/create-run.dto';
import { ListRunsQueryDto } from './dto/list-runs-query.dto';
import { MetricsQueryDto } from './dto/metrics-query.dto';
import { ResumeRunDto } from './dto/resume-run.dto';
import { RunIdPipe } from './run-id.pipe';
import { RunsService } from './runs.service';

@ApiTags('runs')
@Controller('runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post()
  @ApiOperation({ summary: 'Submit a training or adversarial-training run' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same run' })
  @ApiCreatedResponse({ description: 'The run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async create(
    @Body() dto: CreateRunDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return createdOrReplayed(res, await this.runs.create(dto, parseIdempotencyKey(idempotencyKey)));
  }

  @Post('resume')
  @ApiOperation({
    summary: 'Resume a run carried over from another database',
    description:
      'The run as submitted to POST /runs, its newest checkpoint (base64, with its SHA-256 and format, as GET /runs/:id/checkpoints lists it) and its metrics up to that epoch. ' +
      'Stored as a queued run that resumes after the checkpoint\'s epoch. The body may be as large as MODEL_UPLOAD_LIMIT_BYTES.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same run' })
  @ApiCreatedResponse({ description: 'The run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async resume(
    @Body() dto: ResumeRunDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return createdOrReplayed(res, await this.runs.resume(dto, parseIdempotencyKey(idempotencyKey)));
  }

  @Get()
  @ApiOperation({ summary: 'List runs, newest first; filter by status and kind' })
  list(@Query() query: ListRunsQueryDto) {
    return this.runs.list(query);
  }

  @Get(':id')
  @ApiNotFoundResponse()
  get(@Param('id', RunIdPipe) id: string) {
    return this.runs.get(id);
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: 'Metric points of a run, ordered by key then step' })
  async metrics(@Param('id', RunIdPipe) id: string, @Query() query: MetricsQueryDto) {
    return { runId: id, items: await this.runs.metricsOf(id, query.key) };
  }

  @Get(':id/checkpoints')
  @ApiOperation({ summary: 'Checkpoints of a run (metadata; download each from its own URL)' })
  async checkpoints(@Param('id', RunIdPipe) id: string) {
    return { runId: id, items: await this.runs.checkpointsOf(id) };
  }

  @Get(':id/checkpoints/:checkpointId')
  @ApiOperation({ summary: 'Download the bytes of one checkpoint' })
  async downloadCheckpoint(
    @Param('id', RunIdPipe) id: string,
    @Param('checkpointId', RunIdPipe) checkpointId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const checkpoint = await this.runs.checkpointData(id, checkpointId);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="run-${id}-epoch-${checkpoint.epoch}.bwckpt"`);
    res.setHeader('Digest', `sha-256=${Buffer.from(checkpoint.sha256, 'hex').toString('base64')}`);
    return new StreamableFile(checkpoint.data);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a run: a queued run never starts; a running one stops at the next batch' })
  @ApiAcceptedResponse()
  cancel(@Param('id', RunIdPipe) id: string) {
    return this.runs.cancel(id);
  }
}
