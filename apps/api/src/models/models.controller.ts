import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { createdOrReplayed, parseIdempotencyKey } from '../common/idempotency-key';
import { toRunResponse } from '../runs/run.mapper';
import { RunResponse } from '../runs/run.response';
import { ImportModelDto } from './dto/import-model.dto';
import { ModelsService } from './models.service';

@ApiTags('models')
@ApiBearerAuth()
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post('import')
  @RateLimit('submits')
  @ApiOperation({
    summary: 'Import a TensorFlow.js Layers model',
    description:
      'Stores the upload with a run of kind "import": a worker loads it, checks its input shape and classes against the dataset, ' +
      'takes a final softmax off (models expose logits) and measures clean and FGSM accuracy. Once that run has succeeded, its ' +
      'checkpoint is a model to fine-tune (POST /runs with model "imported" and fromCheckpoint), distil from or evaluate.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same run' })
  @ApiCreatedResponse({ type: RunResponse, description: 'The import run, status queued (or the existing run for a replayed Idempotency-Key)' })
  async import(
    @CurrentCaller() caller: Caller,
    @Body() dto: ImportModelDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RunResponse> {
    // An import never requires a GPU: nothing to wait for that the API could name.
    return toRunResponse(createdOrReplayed(res, await this.models.import(caller.tenantId, dto, parseIdempotencyKey(idempotencyKey))), null);
  }
}
