import { BadRequestException, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LAYERS_UPLOAD_FORMAT, LayersModelJson, encodeLayersModel, layersModelJsonProblems, weightsManifestBytes } from '@bulwark/queue';
import { DEFAULT_EVAL_ATTACK, DEFAULT_TEST_FRACTION, IMPORTED_MODEL, ImportModelRequest, ImportRunSpec } from '@bulwark/spec';
import { CreateRunResult, RunsService } from '../runs/runs.service';
import { decodeBase64 } from '../common/decode-base64';

@Injectable()
export class ModelsService {
  constructor(private readonly runs: RunsService) {}

  /**
   * Stores the upload with a queued run of kind `import`. The API runs no TensorFlow: what can
   * be checked without loading the model (a Layers model.json, weights of the declared size) is
   * checked here; whether it loads and fits the dataset is the import run's outcome.
   */
  async import(tenantId: string, dto: ImportModelRequest, idempotencyKey?: string): Promise<CreateRunResult> {
    const problems = layersModelJsonProblems(dto.modelJson, 'modelJson');
    if (problems.length) throw new BadRequestException(problems);
    const modelJson = dto.modelJson as LayersModelJson;
    const weights = await decodeBase64(dto.weights);
    const declared = weightsManifestBytes(modelJson.weightsManifest);
    if (weights.length !== declared) {
      throw new BadRequestException([
        `weights holds ${weights.length} bytes, but modelJson.weightsManifest declares ${declared} (every weight file, concatenated in manifest order)`,
      ]);
    }
    const data = encodeLayersModel(modelJson, weights);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const spec: ImportRunSpec = {
      kind: 'import',
      dataset: dto.dataset,
      model: IMPORTED_MODEL,
      ...(dto.name !== undefined && { name: dto.name }),
      attack: { ...DEFAULT_EVAL_ATTACK },
      seed: dto.seed ?? 0,
      testFraction: dto.testFraction ?? DEFAULT_TEST_FRACTION,
      upload: { sha256, sizeBytes: data.length, weightBytes: weights.length },
    };
    return this.runs.submit(tenantId, spec, { idempotencyKey, checkpoint: { epoch: 0, data, sha256, format: LAYERS_UPLOAD_FORMAT } });
  }
}
