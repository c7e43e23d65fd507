import { Controller, Get, Inject } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/caller.decorator';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { ApiConfig } from '@bulwark/config';
import { TRAINING_QUEUE } from '@bulwark/queue';
import { API_CONFIG } from '../common/api-config';
import { StoreUnavailableError, withinStoreTimeout } from '../common/store-unavailable';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and readiness: 200 when Postgres and Redis answer' })
  @ApiServiceUnavailableResponse({ description: '"postgres is unavailable" or "redis is unavailable", with Retry-After' })
  async check(): Promise<{ status: 'ok'; postgres: 'up'; redis: 'up' }> {
    // Both probed at once and each bounded, so the answer comes within STORE_TIMEOUT_MS whatever is down.
    const [postgres, redis] = await Promise.allSettled([
      withinStoreTimeout('postgres', this.dataSource.query('SELECT 1'), this.config.storeTimeoutMs),
      withinStoreTimeout('redis', this.trainingQueue.getJobCounts('waiting'), this.config.storeTimeoutMs),
    ]);
    // The filter answers 503 naming the store; the driver's text (addresses) only reaches the log.
    if (postgres.status === 'rejected') throw new StoreUnavailableError('postgres', describe(postgres.reason));
    if (redis.status === 'rejected') throw new StoreUnavailableError('redis', describe(redis.reason));
    return { status: 'ok', postgres: 'up', redis: 'up' };
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
