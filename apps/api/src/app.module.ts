import { DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { ConnectionOptions } from 'bullmq';
import type { ApiConfig } from '@bulwark/config';
import { dataSourceOptions } from '@bulwark/database';
import { failFastRedisOptions } from '@bulwark/queue';
import { AuthModule } from './auth/auth.module';
import { API_CONFIG } from './common/api-config';
import { HealthController } from './health/health.controller';
import { DatasetsModule } from './datasets/datasets.module';
import { EvaluationsModule } from './evaluations/evaluations.module';
import { EventsModule } from './events/events.module';
import { LineageModule } from './lineage/lineage.module';
import { ModelsModule } from './models/models.module';
import { QueuesModule } from './queues/queues.module';
import { RunsModule } from './runs/runs.module';

/**
 * A query the API sends may take this long before it counts as Postgres not answering: far above
 * any real query (storing a resumed run's 32 MiB checkpoint included), so it only ends waits on a
 * frozen server. A server that is down refuses connections, which STORE_TIMEOUT_MS bounds.
 */
const API_QUERY_TIMEOUT_MS = 30_000;

@Module({})
export class AppModule {
  /** The config is validated before Nest starts (main.ts) and handed in, never read from process.env here. */
  static forRoot(config: ApiConfig): DynamicModule {
    @Module({})
    class ApiConfigModule {}
    const configModule: DynamicModule = {
      module: ApiConfigModule,
      global: true,
      providers: [{ provide: API_CONFIG, useValue: config }],
      exports: [API_CONFIG],
    };
    return {
      module: AppModule,
      imports: [
        configModule,
        // Bounded waits on both stores: a request while one is down gets a 503 at once, not a hang (see StoreUnavailableFilter).
        TypeOrmModule.forRoot({
          ...dataSourceOptions(config.databaseUrl, 'bulwark-api', { connectTimeoutMs: config.storeTimeoutMs, queryTimeoutMs: API_QUERY_TIMEOUT_MS }),
          retryAttempts: 0,
        }),
        // BullMQ's type names its own client interface; these plain options are what it passes to ioredis.
        BullModule.forRoot({ connection: failFastRedisOptions(config.redisUrl, config.storeTimeoutMs) as ConnectionOptions, prefix: config.queuePrefix }),
        AuthModule,
        RunsModule,
        EvaluationsModule,
        LineageModule,
        ModelsModule,
        DatasetsModule,
        QueuesModule,
        EventsModule,
      ],
      controllers: [HealthController],
    };
  }
}
