import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

export class MetricsQueryDto {
  @ApiPropertyOptional({ description: 'Only this series, e.g. train_loss, test_clean_accuracy, test_fgsm_accuracy' })
  @IsOptional()
  @Matches(/^[a-z0-9_.-]{1,64}$/, { message: 'key must be 1-64 characters of a-z, 0-9, _ . -' })
  key?: string;
}
