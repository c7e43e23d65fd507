import { ApiProperty } from '@nestjs/swagger';

/** An uploaded dataset as the API shows it: everything but its bytes. */
export class DatasetResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'upload:0b7c…', description: 'What to put in a run\'s "dataset" field to train, import or evaluate on it' })
  ref: string;

  @ApiProperty({ example: 'my-clothes' })
  name: string;

  @ApiProperty({ enum: ['idx', 'npy'], description: 'The format the images were uploaded in' })
  format: string;

  @ApiProperty({ type: [Number], example: [28, 28, 1], description: '[H, W, C] of one image' })
  shape: number[];

  @ApiProperty({ type: [String], description: 'Index = label' })
  classNames: string[];

  @ApiProperty()
  trainCount: number;

  @ApiProperty()
  testCount: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { kind: 'seeded', testFraction: 0.2, seed: 0 },
    description: '"official": the uploaded test parts; "seeded": held out of the uploaded examples at upload, the same for every run',
  })
  testSplit: Record<string, unknown>;

  @ApiProperty({ description: 'Bytes as stored (uint8 pixels and labels)' })
  sizeBytes: number;

  @ApiProperty({ description: 'SHA-256 of the stored bytes: train images, train labels, test images, test labels' })
  sha256: string;

  @ApiProperty()
  createdAt: Date;
}

export class DatasetPageResponse {
  @ApiProperty({ type: [DatasetResponse] })
  items: DatasetResponse[];

  @ApiProperty()
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}
