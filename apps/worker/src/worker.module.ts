import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { WorkerConfig } from '@bulwark/config';
import { DatabaseModule, dataSourceOptions } from '@bulwark/database';
import { EvaluationQueueWorker, GradientQueueWorker, TrainingQueueWorker } from './sandboxed-queue.worker';
import { WORKER_CONFIG } from './worker-config';

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(config.databaseUrl, 'bulwark-worker'), retryAttempts: 0 }), DatabaseModule],
      providers: [{ provide: WORKER_CONFIG, useValue: config }, TrainingQueueWorker, EvaluationQueueWorker, GradientQueueWorker],
    };
  }
}
