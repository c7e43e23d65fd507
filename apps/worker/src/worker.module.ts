import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { WorkerConfig } from '@bulwark/config';
import { DatabaseModule, dataSourceOptions } from '@bulwark/database';
import type { BackendInfo } from '@bulwark/tfjs-runtime';
import {
  EvaluationGpuQueueWorker,
  EvaluationQueueWorker,
  GradientGpuQueueWorker,
  GradientQueueWorker,
  TrainingGpuQueueWorker,
  TrainingQueueWorker,
} from './sandboxed-queue.worker';
import { WORKER_BACKEND, WORKER_CONFIG } from './worker-config';
import { WorkerPresenceAnnouncer } from './worker-presence.announcer';
import { RunReconciler } from './reconciliation/run.reconciler';
import { RunEventsModule } from './run-events.module';

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, backend: BackendInfo): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions(config.databaseUrl, 'bulwark-worker'), retryAttempts: 0 }),
        RunEventsModule.forRoot(config),
        DatabaseModule,
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        { provide: WORKER_BACKEND, useValue: backend },
        TrainingQueueWorker,
        EvaluationQueueWorker,
        TrainingGpuQueueWorker,
        EvaluationGpuQueueWorker,
        GradientQueueWorker,
        GradientGpuQueueWorker,
        WorkerPresenceAnnouncer,
        RunReconciler,
      ],
    };
  }
}
