import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBase64, IsDefined, IsHexadecimal, IsInt, IsNumber, IsOptional, IsString, Length, Matches, MaxLength, Min, ValidateNested } from 'class-validator';
import { CreateRunDto } from './create-run.dto';

/** The newest checkpoint of the run being carried over, as GET /runs/:id/checkpoints/:checkpointId serves it. */
export class ResumeCheckpointDto {
  @ApiProperty({ minimum: 1, description: 'The epoch it was written after; training continues with the next one' })
  @IsInt()
  @Min(1)
  epoch: number;

  @ApiProperty({ description: 'The checkpoint file, base64' })
  @IsBase64()
  data: string;

  @ApiProperty({ description: 'SHA-256 of the bytes (hex), as the checkpoint listing gives it: checked before anything is stored' })
  @IsHexadecimal()
  @Length(64, 64)
  sha256: string;

  @ApiProperty({ example: 'bulwark-ckpt-v1', description: 'The checkpoint format, as the listing gives it' })
  @IsString()
  @Matches(/^bulwark-ckpt-v\d+$/, { message: 'format must be a bulwark checkpoint format (bulwark-ckpt-v1, …)' })
  format: string;
}

export class ResumeMetricDto {
  @IsString()
  @MaxLength(64)
  key: string;

  @IsInt()
  @Min(0)
  step: number;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  value: number;
}

/**
 * Body of POST /runs/resume: a run carried over from another database (another cluster, or a
 * session whose database did not survive) as its spec, its newest checkpoint and the metrics
 * written up to it. The new run resumes from that checkpoint exactly as a re-delivered job would.
 */
export class ResumeRunDto {
  @ApiProperty({ type: CreateRunDto, description: 'The run as it was submitted to POST /runs' })
  @IsDefined()
  @ValidateNested()
  @Type(() => CreateRunDto)
  run: CreateRunDto;

  @ApiProperty({ type: ResumeCheckpointDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => ResumeCheckpointDto)
  checkpoint: ResumeCheckpointDto;

  @ApiPropertyOptional({ type: [ResumeMetricDto], description: 'Metric points of the epochs up to the checkpoint (later ones are dropped: those epochs run again)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => ResumeMetricDto)
  metrics?: ResumeMetricDto[];
}
