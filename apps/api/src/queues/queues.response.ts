import { ApiProperty } from '@nestjs/swagger';

export class QueueCountsResponse {
  @ApiProperty({ example: 'training' })
  name: string;

  @ApiProperty()
  waiting: number;

  @ApiProperty()
  active: number;

  @ApiProperty()
  delayed: number;

  @ApiProperty({ description: 'Jobs BullMQ keeps as failed (after their last attempt)' })
  failed: number;

  @ApiProperty({ description: 'Connected workers that announce they consume this queue' })
  workers: number;
}

export class ConnectedWorkerResponse {
  @ApiProperty({ description: 'host:pid' })
  id: string;

  @ApiProperty()
  host: string;

  @ApiProperty()
  pid: number;

  @ApiProperty({ example: 'wasm' })
  backend: string;

  @ApiProperty()
  gpu: boolean;

  @ApiProperty({ type: [String] })
  queues: string[];

  @ApiProperty()
  startedAt: string;
}

export class QueuesResponse {
  @ApiProperty({ type: [QueueCountsResponse], description: 'Every queue, cluster-wide (all tenants)' })
  queues: QueueCountsResponse[];

  @ApiProperty({ type: [ConnectedWorkerResponse], description: 'Workers whose announcement has not expired' })
  workers: ConnectedWorkerResponse[];
}
