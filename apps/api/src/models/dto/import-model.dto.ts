import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBase64, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DATASET_NAMES, DatasetName } from '@bulwark/queue';

/**
 * Body of POST /models/import: a TensorFlow.js Layers model as its files hold it. Only the
 * shape of model.json is checked here (ModelsService); loading it is the worker's job.
 */
export class ImportModelDto {
  @ApiProperty({ enum: DATASET_NAMES, example: 'mnist', description: 'What the model classifies: its input shape and class count must be the dataset\'s' })
  @IsIn(DATASET_NAMES)
  dataset: DatasetName;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'model.json as tensorflowjs_converter or model.save() writes it: modelTopology and weightsManifest',
  })
  @IsObject()
  modelJson: Record<string, unknown>;

  @ApiProperty({ description: 'Base64 of the weight files (group1-shard1of1.bin, …) concatenated in weightsManifest order' })
  @IsBase64()
  weights: string;

  @ApiPropertyOptional({ maxLength: 200, description: 'A label for the model' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seed of the test split the import is measured on (mnist), default 0' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;

  @ApiPropertyOptional({ description: 'For mnist: the fraction held out as the seeded test split, default 0.2' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(0.5)
  testFraction?: number;
}
