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
  IsPositive,
  IsString,
  IsUUID,
  Matches,
  Max,
  ValidateIf,
  Min,
  ValidateNested,
} from 'class-validator';
import { DETECTOR_KINDS, DetectorKind, EVALUATION_ATTACKS, EVALUATION_SUITES, EvaluationAttackName, EvaluationSuite, NORMS, Norm, PREPROCESSING_KINDS } from '@bulwark/queue';

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

/** One preprocessing step; which fields it needs depends on its kind (checked by EvaluationsService). */
export class PreprocessingStepDto {
  @ApiProperty({ enum: PREPROCESSING_KINDS })
  @IsIn(PREPROCESSING_KINDS)
  kind: (typeof PREPROCESSING_KINDS)[number];

  @ApiPropertyOptional({ description: 'bit-depth: bits per pixel, 1..8' }) @IsOptional() @IsInt() @Min(1) @Max(8) bits?: number;
  @ApiPropertyOptional({ description: 'median-filter: window size, 1..15' }) @IsOptional() @IsInt() @Min(1) @Max(15) size?: number;
  @ApiPropertyOptional({ description: 'jpeg: quality, 1..100' }) @IsOptional() @IsInt() @Min(1) @Max(100) quality?: number;
  @ApiPropertyOptional({ description: 'gaussian-noise: σ in [0,1] pixel units' }) @IsOptional() @IsNumber(finite) @Min(0) @Max(1) sigma?: number;
  @ApiPropertyOptional({ description: 'random-resize-pad: smallest and largest resized side' }) @IsOptional() @IsInt() @Min(1) @Max(512) minSize?: number;
  @IsOptional() @IsInt() @Min(1) @Max(512) maxSize?: number;
  @ApiPropertyOptional({ description: 'quantise-inputs (gradient masking): levels, 2..256' }) @IsOptional() @IsInt() @Min(2) @Max(256) levels?: number;
  @ApiPropertyOptional({ description: 'random steps: seed of their draws (default the evaluation seed)' }) @IsOptional() @IsInt() @Min(0) @Max(2 ** 31 - 1) seed?: number;
}

export class LogitsSquashDto {
  @ApiProperty({ enum: ['saturate-logits', 'softmax-output'], description: 'saturate-logits: logits / T (masking); softmax-output: attacks read the probabilities (how distilled models were first evaluated)' })
  @IsIn(['saturate-logits', 'softmax-output'])
  kind: 'saturate-logits' | 'softmax-output';

  @ApiPropertyOptional({ description: 'saturate-logits only: in (0, 1)' })
  @ValidateIf((o: LogitsSquashDto) => o.kind === 'saturate-logits')
  @IsNumber(finite) @IsPositive() @Max(0.999)
  temperature?: number;
}

export class DefenseDto {
  @ApiProperty({ type: [PreprocessingStepDto] })
  @IsArray()
  @ArrayMaxSize(5)
  @ValidateNested({ each: true })
  @Type(() => PreprocessingStepDto)
  preprocessing: PreprocessingStepDto[];

  @ApiPropertyOptional({ type: LogitsSquashDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LogitsSquashDto)
  logits?: LogitsSquashDto;
}

/** One detector; which options it takes depends on its kind (checked by EvaluationsService). */
export class DetectorDto {
  @ApiProperty({ enum: DETECTOR_KINDS, description: 'confidence: 1 − max softmax (Hendrycks & Gimpel); feature-squeezing: L1 change of the softmax under squeezers (Xu et al.); mahalanobis: distance of penultimate features to class means (Lee et al.)' })
  @IsIn(DETECTOR_KINDS)
  kind: DetectorKind;

  @ApiPropertyOptional({ default: 0.05, description: 'Target false-positive rate on the clean validation examples, in (0, 0.5]' })
  @IsOptional() @IsNumber(finite) @IsPositive() @Max(0.5)
  fpr?: number;

  @ApiPropertyOptional({ type: [PreprocessingStepDto], description: 'feature-squeezing only: deterministic steps (default 1-bit depth and a 2×2 median filter)' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(5) @ValidateNested({ each: true }) @Type(() => PreprocessingStepDto)
  squeezers?: PreprocessingStepDto[];

  @ApiPropertyOptional({ description: 'mahalanobis only: the layer whose output is the feature vector (default the input of the logits layer)' })
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_./-]{1,128}$/, { message: 'featureLayer must be a layer name (letters, digits, _ . / -)' })
  featureLayer?: string;

  @ApiPropertyOptional({ default: 0.01, description: 'mahalanobis only: ridge added to the feature covariance, relative to its mean variance, in [0, 1]' })
  @IsOptional() @IsNumber(finite) @Min(0) @Max(1)
  shrinkage?: number;
}

/** The detector-aware PGD run against each detector (margin, then margin and detector score together). */
export class DetectorAwareDto {
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @IsInt() @Min(1) @Max(1000) steps?: number;
  @ApiPropertyOptional({ description: 'Default 2.5·ε/steps at each ε' }) @IsOptional() @IsNumber(finite) @IsPositive() @Max(10) stepSize?: number;
  @ApiPropertyOptional({ default: 1, description: 'κ: margin kept once misclassified, before the step goes to the detector' }) @IsOptional() @IsNumber(finite) @Min(0) @Max(100) confidence?: number;
  @ApiPropertyOptional({ default: 1, description: 'λ: weight of the detector term, in units of its clean score spread' }) @IsOptional() @IsNumber(finite) @IsPositive() @Max(100) detectorWeight?: number;
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

  @ApiPropertyOptional({ type: DefenseDto, description: 'Evaluate the model behind this defense, naively and adaptively (BPDA / EOT)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => DefenseDto)
  defense?: DefenseDto;

  @ApiPropertyOptional({ default: 4, description: 'Adversarial examples stored per ε for the gallery' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(32)
  galleryPerEpsilon?: number;

  @ApiPropertyOptional({
    type: [DetectorDto],
    description: 'Detectors behind the defense (or the bare model), each kind at most once: at every ε > 0, detection rate at the fixed-FPR threshold, ROC AUC and the stack\'s robust accuracy per attack, plus a detector-aware PGD per detector',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(3)
  @ValidateNested({ each: true })
  @Type(() => DetectorDto)
  detectors?: DetectorDto[];

  @ApiPropertyOptional({ default: 1000, description: 'With detectors: clean examples their thresholds are set on, a seeded subset of the TRAINING split' })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(10000)
  validationExamples?: number;

  @ApiPropertyOptional({ type: DetectorAwareDto, description: 'With detectors: the detector-aware attack\'s settings' })
  @IsOptional()
  @ValidateNested()
  @Type(() => DetectorAwareDto)
  detectorAware?: DetectorAwareDto;
}
