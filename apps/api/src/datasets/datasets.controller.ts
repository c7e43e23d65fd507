import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import type { ApiConfig } from '@bulwark/config';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { API_CONFIG } from '../common/api-config';
import { RunIdPipe } from '../runs/run-id.pipe';
import { toDatasetPageResponse, toDatasetResponse } from './dataset.mapper';
import { DatasetPageResponse, DatasetResponse } from './dataset.response';
import { readDatasetUpload } from './dataset-upload';
import { DatasetsService } from './datasets.service';
import { ListDatasetsQueryDto } from './list-datasets-query.dto';

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Post()
  @RateLimit('submits')
  @ApiOperation({
    summary: 'Upload a labelled image dataset',
    description:
      'multipart/form-data with file parts train-images and train-labels (and optionally test-images and test-labels): IDX files as ' +
      'MNIST ships them (gzip or not) or NumPy .npy arrays (images N×H×W or N×H×W×C, uint8 0..255 or float in [0,1]; labels N integers). ' +
      'Fields: name (required), classNames (JSON array or comma-separated), and, without test parts, testFraction and seed of the ' +
      'seeded split. Checked whole before anything is stored; the answer\'s "ref" goes in a run\'s "dataset" field.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['name', 'train-images', 'train-labels'],
      properties: {
        name: { type: 'string' },
        classNames: { type: 'string', example: '["cat","dog"]' },
        testFraction: { type: 'string', example: '0.2' },
        seed: { type: 'string', example: '0' },
        'train-images': { type: 'string', format: 'binary' },
        'train-labels': { type: 'string', format: 'binary' },
        'test-images': { type: 'string', format: 'binary' },
        'test-labels': { type: 'string', format: 'binary' },
      },
    },
  })
  @ApiCreatedResponse({ type: DatasetResponse })
  async upload(@CurrentCaller() caller: Caller, @Req() req: Request): Promise<DatasetResponse> {
    const body = await readDatasetUpload(req, this.config.datasetUploadLimitBytes);
    return toDatasetResponse(await this.datasets.upload(caller.tenantId, body));
  }

  @Get()
  @ApiOkResponse({ type: DatasetPageResponse })
  async list(@CurrentCaller() caller: Caller, @Query() query: ListDatasetsQueryDto): Promise<DatasetPageResponse> {
    const { items, total } = await this.datasets.list(caller.tenantId, query);
    return toDatasetPageResponse({ items, total, limit: query.limit, offset: query.offset });
  }

  @Get(':id')
  @ApiOkResponse({ type: DatasetResponse })
  @ApiNotFoundResponse()
  async get(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<DatasetResponse> {
    return toDatasetResponse(await this.datasets.get(caller.tenantId, id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an uploaded dataset (refused while a queued or running run uses it)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Unfinished runs use it; the message names them' })
  async delete(@CurrentCaller() caller: Caller, @Param('id', RunIdPipe) id: string): Promise<void> {
    await this.datasets.delete(caller.tenantId, id);
  }
}
