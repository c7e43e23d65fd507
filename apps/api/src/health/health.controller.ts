import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/caller.decorator';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { TRAINING_QUEUE } from '@bulwark/queue';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and readiness: 200 when Postgres and Redis answer' })
  async check(): Promise<{ status: 'ok'; postgres: 'up'; redis: 'up' }> {
    try {
      await this.dataSource.query('SELECT 1');
    } catch (err) {
      throw new ServiceUnavailableException(`postgres is unreachable: ${(err as Error).message}`);
    }
    try {
      await this.trainingQueue.getJobCounts('waiting');
    } catch (err) {
      throw new ServiceUnavailableException(`redis is unreachable: ${(err as Error).message}`);
    }
    return { status: 'ok', postgres: 'up', redis: 'up' };
  }
}
