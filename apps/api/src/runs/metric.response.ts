import { ApiProperty } from '@nestjs/swagger';

export class MetricResponse {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ example: 'test_clean_accuracy' })
  key: string;

  @ApiProperty({ description: 'The epoch, for per-epoch series' })
  step: number;

  @ApiProperty()
  value: number;

  @ApiProperty()
  recordedAt: Date;
}

export class RunMetricsResponse {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ type: [MetricResponse], description: 'Ordered by key, then step' })
  items: MetricResponse[];
}
