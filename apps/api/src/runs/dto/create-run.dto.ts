import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ATTACK_NAMES, AttackName, DATASET_NAMES, DatasetName, MODEL_NAMES, ModelName, TRAINING_RUN_KINDS, TrainingRunKind } from '@bulwark/jobs';

export class AttackDto {
  @ApiProperty({ enum: ATTACK_NAMES, example: 'fgsm' })
  @IsIn(ATTACK_NAMES)
  name: AttackName;

  @ApiProperty({ description: 'L∞ radius in [0,1] input space, in (0, 1]', example: 0.1 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1)
  epsilon: number;
}

/**
 * Body of POST /runs. Limits that depend on deployment (MAX_EPOCHS, MAX_BATCH_SIZE) are
 * checked by RunsService against the config; everything static is checked here.
 */
export class CreateRunDto {
  @ApiProperty({ enum: TRAINING_RUN_KINDS, example: 'adversarial-training' })
  @IsIn(TRAINING_RUN_KINDS)
  kind: TrainingRunKind;

  @ApiProperty({ enum: DATASET_NAMES, example: 'mnist' })
  @IsIn(DATASET_NAMES)
  dataset: DatasetName;

  @ApiProperty({ enum: MODEL_NAMES, example: 'mlp' })
  @IsIn(MODEL_NAMES)
  model: ModelName;

  @ApiPropertyOptional({
    type: AttackDto,
    description: 'Required for adversarial-training (the attack crafted against each batch). For every run it is also the attack measured on the test split after each epoch; train runs default to FGSM ε=0.1.',
  })
  @ValidateIf((o: CreateRunDto) => o.kind === 'adversarial-training' || o.attack !== undefined)
  @IsDefined({ message: 'attack is required for adversarial-training' })
  @ValidateNested()
  @Type(() => AttackDto)
  attack?: AttackDto;

  @ApiProperty({ minimum: 1, example: 2 })
  @IsInt()
  @Min(1)
  epochs: number;

  @ApiProperty({ minimum: 1, example: 64 })
  @IsInt()
  @Min(1)
  batchSize: number;

  @ApiProperty({ minimum: 0, maximum: 2 ** 31 - 1, example: 1 })
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed: number;

  @ApiPropertyOptional({ description: 'Adam learning rate, in (0, 1]', example: 0.001 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1)
  learningRate?: number;

  @ApiPropertyOptional({ description: 'Fraction of the dataset held out as the seeded test split', example: 0.2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(0.5)
  testFraction?: number;
}
