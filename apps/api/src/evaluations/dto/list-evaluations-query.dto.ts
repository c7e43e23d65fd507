import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';

export class ListEvaluationsQueryDto {
  @ApiPropertyOptional({ description: 'Only evaluations of this training run (model)' })
  @IsOptional()
  @IsUUID()
  runId?: string;
}
