import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsUUID,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { EVALUATION_ATTACKS, EVALUATION_SUITES, EvaluationAttackName, EvaluationSuite, NORMS, Norm } from '@bulwark/jobs';

const finite = { allowNaN: false, allowInfinity: false } as const;

export class PgdParamsDto {
  @IsOptional() @IsInt() @Min(1) @Max(1000) steps?: number;
  @ApiPropertyOptional({ description: 'Step size as a multiple of ε / steps (2.5 as in Madry et al.)' })
  @IsOptional() @IsNumber(finite) @Min(0.1) @Max(100) stepSizeFactor?: number;
  @IsOptional() @IsInt() @Min(1) @Max(20) restarts?: number;
  @IsOptional() @IsIn(['ce', 'margin']) loss?: 'ce' | 'margin';
}

export class ApgdParamsDto {
  @IsOptional() @IsInt() @Min(1) @Max(1000) steps?: number;
  @IsOptional() @IsInt() @Min(1) @Max(20) restarts?: number;
}

export class ApgdTargetedParamsDto {
  @IsOptional() @IsInt() @Min(1) @Max(1000) steps?: number;
  @IsOptional() @IsInt() @Min(1) @Max(9) targetClasses?: number;
}

export class SquareParamsDto {
  @IsOptional() @IsInt() @Min(1) @Max(20000) queries?: number;
  @IsOptional() @IsNumber(finite) @Min(0.01) @Max(1) pInit?: number;
}

export class AttackParamsDto {
  @ApiPropertyOptional({ type: PgdParamsDto }) @IsOptional() @ValidateNested() @Type(() => PgdParamsDto) pgd?: PgdParamsDto;
  @ApiPropertyOptional({ type: ApgdParamsDto }) @IsOptional() @ValidateNested() @Type(() => ApgdParamsDto) apgd?: ApgdParamsDto;
  @ApiPropertyOptional({ type: ApgdTargetedParamsDto }) @IsOptional() @ValidateNested() @Type(() => ApgdTargetedParamsDto) apgdTargeted?: ApgdTargetedParamsDto;
  @ApiPropertyOptional({ type: SquareParamsDto }) @IsOptional() @ValidateNested() @Type(() => SquareParamsDto) square?: SquareParamsDto;
}

/** Body of POST /evaluations: which model, which threat model, which attacks, on how many examples. */
export class CreateEvaluationDto {
  @ApiProperty({ description: 'The training run whose checkpoint is evaluated' })
  @IsUUID()
  runId: string;

  @ApiPropertyOptional({ description: 'Epoch of the checkpoint (default: the newest)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  checkpointEpoch?: number;

  @ApiPropertyOptional({ enum: NORMS, default: 'linf' })
  @IsOptional()
  @IsIn(NORMS)
  norm?: Norm;

  @ApiProperty({ type: [Number], example: [0, 0.05, 0.1, 0.2, 0.3], description: 'Radii in [0,1] input space: each in [0, 1] for linf, [0, 10] for l2' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(12)
  @ArrayUnique()
  @IsNumber(finite, { each: true })
  @Min(0, { each: true })
  @Max(10, { each: true })
  epsilons: number[];

  @ApiPropertyOptional({ enum: EVALUATION_SUITES, default: 'standard', description: 'standard: FGSM, PGD, APGD-CE, APGD-T, Square; quick: FGSM, PGD; custom: the attacks listed' })
  @IsOptional()
  @IsIn(EVALUATION_SUITES)
  suite?: EvaluationSuite;

  @ApiPropertyOptional({ enum: EVALUATION_ATTACKS, isArray: true, description: 'Only with suite "custom"' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(EVALUATION_ATTACKS, { each: true })
  attacks?: EvaluationAttackName[];

  @ApiPropertyOptional({ type: AttackParamsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AttackParamsDto)
  params?: AttackParamsDto;

  @ApiPropertyOptional({ default: 1000, description: 'n: a seeded subset of the test split of this size (all of it if smaller)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  examples?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;

  @ApiPropertyOptional({ default: 4, description: 'Adversarial examples stored per ε for the gallery' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(32)
  galleryPerEpsilon?: number;
}
