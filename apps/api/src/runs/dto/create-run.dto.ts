import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  Max,
  Min,
  IsUUID,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  ATTACK_NAMES,
  AttackName,
  DATASET_NAMES,
  DatasetName,
  IMPORTED_MODEL,
  MODEL_NAMES,
  RunModelName,
  TRAINING_METHODS,
  TRAINING_RUN_KINDS,
  TrainingMethodName,
  TrainingRunKind,
} from '@bulwark/queue';

const finite = { allowNaN: false, allowInfinity: false } as const;

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

export class TrainingMethodDto {
  @ApiProperty({ enum: TRAINING_METHODS, description: 'fgsm (Goodfellow), fgsm-rs (Wong et al. 2020), pgd (Madry), trades (Zhang), free (Shafahi)' })
  @IsIn(TRAINING_METHODS)
  name: TrainingMethodName;

  @ApiPropertyOptional({ description: 'L∞ training radius in (0, 1]; default attack.epsilon' })
  @IsOptional() @IsNumber(finite) @IsPositive() @Max(1)
  epsilon?: number;

  @IsOptional() @IsNumber(finite) @IsPositive() @Max(1)
  stepSize?: number;

  @IsOptional() @IsInt() @Min(1) @Max(100)
  steps?: number;

  @IsOptional() @IsBoolean()
  randomStart?: boolean;

  @ApiPropertyOptional({ description: 'TRADES β' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(100)
  beta?: number;

  @ApiPropertyOptional({ description: 'free adversarial training: m replays per minibatch' })
  @IsOptional() @IsInt() @Min(1) @Max(32)
  replays?: number;

  @ApiPropertyOptional({ description: 'w in (1 − w)·CE(x) + w·CE(x′)' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(1)
  adversarialWeight?: number;

  @ApiPropertyOptional({ description: 'Ramp ε linearly over this many epochs' })
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  epsilonWarmupEpochs?: number;
}

export class OptimizerDto {
  @ApiProperty({ enum: ['adam', 'sgd'] })
  @IsIn(['adam', 'sgd'])
  name: 'adam' | 'sgd';

  @ApiPropertyOptional({ description: 'SGD momentum (default 0.9)' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(0.999)
  momentum?: number;

  @IsOptional() @IsBoolean()
  nesterov?: boolean;
}

export class ScheduleDto {
  @ApiProperty({ enum: ['constant', 'piecewise', 'cyclic'] })
  @IsIn(['constant', 'piecewise', 'cyclic'])
  kind: 'constant' | 'piecewise' | 'cyclic';

  @ApiPropertyOptional({ description: 'piecewise: epochs after which the rate is multiplied by factor' })
  @ValidateIf((o: ScheduleDto) => o.kind === 'piecewise')
  @IsArray() @ArrayMaxSize(10) @IsInt({ each: true }) @Min(1, { each: true })
  milestones?: number[];

  @ValidateIf((o: ScheduleDto) => o.kind === 'piecewise')
  @IsNumber(finite) @IsPositive() @Max(1)
  factor?: number;

  @ApiPropertyOptional({ description: 'cyclic: the rate at both ends (default 0); learningRate is the peak' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(1)
  minLearningRate?: number;

  @ApiPropertyOptional({ description: 'cyclic: where the peak falls, as a fraction of the run (default 0.5)' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(1)
  peakAt?: number;
}

export class OverfittingGuardDto {
  @ApiPropertyOptional({ description: 'Training examples held out to measure PGD accuracy each epoch (default 500)' })
  @IsOptional() @IsInt() @Min(10) @Max(10000)
  heldOut?: number;

  @ApiPropertyOptional({ description: 'A drop in PGD accuracy larger than this below the best epoch is a collapse (default 0.2)' })
  @IsOptional() @IsNumber(finite) @IsPositive() @Max(1)
  maxDrop?: number;

  @ApiPropertyOptional({
    description: 'When set, FGSM accuracy more than this above PGD accuracy on the held-out examples is a collapse, even in the first epoch (default: off; early in large-ε training the gap can be wide and close again)',
  })
  @IsOptional() @IsNumber(finite) @IsPositive() @Max(1)
  maxGap?: number;

  @IsOptional() @IsIn(['stop', 'continue'])
  onCollapse?: 'stop' | 'continue';
}

/**
 * Body of POST /runs. Limits that depend on deployment (MAX_EPOCHS, MAX_BATCH_SIZE) are
 * checked by RunsService against the config; everything static is checked here.
 */
export class CreateRunDto {
  @ApiProperty({ enum: TRAINING_RUN_KINDS, example: 'adversarial-training', description: 'distillation needs teacherCheckpoint and temperature' })
  @IsIn(TRAINING_RUN_KINDS)
  kind: TrainingRunKind;

  @ApiProperty({ enum: DATASET_NAMES, example: 'mnist' })
  @IsIn(DATASET_NAMES)
  dataset: DatasetName;

  @ApiProperty({ enum: [...MODEL_NAMES, IMPORTED_MODEL], example: 'mlp', description: '"imported": the architecture of an imported model, with fromCheckpoint a checkpoint of it' })
  @IsIn([...MODEL_NAMES, IMPORTED_MODEL])
  model: RunModelName;

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

  @ApiPropertyOptional({ type: TrainingMethodDto, description: 'adversarial-training only: how adversarial examples are made (default FGSM at attack.epsilon)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => TrainingMethodDto)
  method?: TrainingMethodDto;

  @ApiPropertyOptional({ type: OptimizerDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => OptimizerDto)
  optimizer?: OptimizerDto;

  @ApiPropertyOptional({ type: ScheduleDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ScheduleDto)
  schedule?: ScheduleDto;

  @ApiPropertyOptional({ type: OverfittingGuardDto, description: 'Catastrophic-overfitting guard; on by default for fgsm-rs' })
  @IsOptional()
  @ValidateNested()
  @Type(() => OverfittingGuardDto)
  overfittingGuard?: OverfittingGuardDto;

  @ApiPropertyOptional({ description: 'train: learn softmax(logits / T) (a distillation teacher); distillation: the temperature of the soft labels. 1..100' })
  @IsOptional()
  @IsNumber(finite)
  @Min(1)
  @Max(100)
  temperature?: number;

  @ApiPropertyOptional({ description: 'distillation: the teacher checkpoint (same dataset); it becomes the run\'s parent' })
  @ValidateIf((o: CreateRunDto) => o.kind === 'distillation' || o.teacherCheckpoint !== undefined)
  @IsUUID()
  teacherCheckpoint?: string;

  @ApiPropertyOptional({ description: 'Start from this checkpoint (same model and dataset; for model "imported", a checkpoint of an import run or of a run trained from one): fine-tuning, with the checkpoint as parent' })
  @IsOptional()
  @IsUUID()
  fromCheckpoint?: string;

  @ApiPropertyOptional({ description: 'Fraction of the dataset held out as the seeded test split', example: 0.2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(0.5)
  testFraction?: number;
}
