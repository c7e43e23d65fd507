import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { EXPORTED_WEIGHTS_FILE, ExportedModel, ModelExportService } from './model-export.service';
import { RunIdPipe } from './run-id.pipe';

/**
 * A checkpoint as a TensorFlow.js Layers model at a URL:
 * `tf.loadLayersModel('<api>/runs/<id>/checkpoints/<checkpointId>/model.json', { requestInit: { headers: { Authorization: 'Bearer …' } } })`
 * fetches model.json, then the weight file its manifest names, from beside it.
 */
@ApiTags('runs')
@ApiBearerAuth()
@Controller('runs')
export class ModelExportController {
  constructor(private readonly exports: ModelExportService) {}

  @Get(':id/checkpoints/:checkpointId/model.json')
  @RateLimit('heavy-reads')
  @ApiOperation({
    summary: "A checkpoint's model as a TensorFlow.js model.json",
    description:
      'Load it with tf.loadLayersModel(url, { requestInit: { headers: { Authorization } } }); its weightsManifest names weights.bin beside it. ' +
      "The ETag is the checkpoint's SHA-256: If-None-Match gets a 304.",
  })
  @ApiOkResponse({ description: 'model.json (modelTopology, weightsManifest, userDefinedMetadata.bulwark: epoch, checkpointSha256)' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'The checkpoint holds no model (an upload not yet accepted by its import run)' })
  async modelJson(
    @CurrentCaller() caller: Caller,
    @Param('id', RunIdPipe) id: string,
    @Param('checkpointId', RunIdPipe) checkpointId: string,
    @Res() res: Response,
  ): Promise<void> {
    const model = await this.exports.export(caller.tenantId, id, checkpointId);
    send(res, model, 'application/json', Buffer.from(JSON.stringify(model.modelJson), 'utf8'));
  }

  @Get(`:id/checkpoints/:checkpointId/${EXPORTED_WEIGHTS_FILE}`)
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: "The weight file that a checkpoint's model.json names" })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiNotFoundResponse()
  async weights(
    @CurrentCaller() caller: Caller,
    @Param('id', RunIdPipe) id: string,
    @Param('checkpointId', RunIdPipe) checkpointId: string,
    @Res() res: Response,
  ): Promise<void> {
    const model = await this.exports.export(caller.tenantId, id, checkpointId);
    send(res, model, 'application/octet-stream', model.weights);
  }

  @Get(':id/checkpoints/:checkpointId/model.tar.gz')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: "model.json and weights.bin of a checkpoint's model in one .tar.gz, for apps that bundle their models" })
  @ApiProduces('application/gzip')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' }, description: 'A directory run-<id>-epoch-<n>/ holding model.json and weights.bin' })
  @ApiNotFoundResponse()
  async archive(
    @CurrentCaller() caller: Caller,
    @Param('id', RunIdPipe) id: string,
    @Param('checkpointId', RunIdPipe) checkpointId: string,
    @Res() res: Response,
  ): Promise<void> {
    const model = await this.exports.export(caller.tenantId, id, checkpointId);
    const directory = `run-${id}-epoch-${model.epoch}`;
    res.setHeader('Content-Disposition', `attachment; filename="${directory}.tar.gz"`);
    send(res, model, 'application/gzip', this.exports.archive(model, directory));
  }
}

/**
 * The same checkpoint bytes always give the same files, so the checkpoint's SHA-256 is their
 * ETag; express answers a matching If-None-Match with a 304 and no body.
 */
function send(res: Response, model: ExportedModel, contentType: string, body: Buffer): void {
  res.setHeader('ETag', `"${model.sha256}"`);
  // Behind a key: no shared cache may keep it; a browser revalidates and gets a 304.
  res.setHeader('Cache-Control', 'private, no-cache');
  res.type(contentType).status(200).send(body);
}
