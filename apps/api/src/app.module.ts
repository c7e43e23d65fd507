import { DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { ApiConfig } from '@bulwark/config';
import { dataSourceOptions } from '@bulwark/database';
import { redisConnectionOptions } from '@bulwark/queue';
import { AuthModule } from './auth/auth.module';
import { API_CONFIG } from './common/api-config';
import { HealthController } from './health/health.controller';
import { EvaluationsModule } from './evaluations/evaluations.module';
import { LineageModule } from './lineage/lineage.module';
import { ModelsModule } from './models/models.module';
import { RunsModule } from './runs/runs.module';

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
        TypeOrmModule.forRoot({ ...dataSourceOptions(config.databaseUrl, 'bulwark-api'), retryAttempts: 0 }),
        BullModule.forRoot({ connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix }),
        AuthModule,
        RunsModule,
        EvaluationsModule,
        LineageModule,
        ModelsModule,
      ],
      controllers: [HealthController],
    };
  }
}
