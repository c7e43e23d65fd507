import { ApiProperty } from '@nestjs/swagger';

/** A checkpoint's metadata; its bytes are downloaded from GET /runs/:id/checkpoints/:checkpointId. */
export class CheckpointResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ description: "The epoch after which it was written (0: an import's model)" })
  epoch: number;

  @ApiProperty({ description: 'SHA-256 of the bytes, hex' })
  sha256: string;

  @ApiProperty()
  sizeBytes: number;

  @ApiProperty({ example: 'bulwark-ckpt-v1' })
  format: string;

  @ApiProperty()
  createdAt: Date;
}

export class RunCheckpointsResponse {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ type: [CheckpointResponse], description: 'In epoch order' })
  items: CheckpointResponse[];
}
