import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RunEventSink } from '@bulwark/spec';
import { ApiKeyRepository } from './api-key.repository';
import { DatasetRepository } from './dataset.repository';
import { EvaluationResultRepository } from './evaluation-result.repository';
import { RunRepository } from './run.repository';

/**
 * Where an app that streams run events provides its sink (a global module of the app's own):
 * the repositories publish every committed change there. Optional: without it they publish nothing.
 */
export const RUN_EVENT_SINK = Symbol('RUN_EVENT_SINK');

const SINK = { token: RUN_EVENT_SINK, optional: true };

/**
 * The repositories as Nest providers, built over the DataSource the importing app's
 * TypeOrmModule.forRoot provides. The repositories themselves stay plain classes, so the
 * worker's sandboxed child processes (no Nest container) construct them directly.
 */
@Module({
  providers: [
    {
      provide: RunRepository,
      useFactory: (dataSource: DataSource, events?: RunEventSink) => new RunRepository(dataSource, events),
      inject: [DataSource, SINK],
    },
    {
      provide: EvaluationResultRepository,
      useFactory: (dataSource: DataSource, events?: RunEventSink) => new EvaluationResultRepository(dataSource, events),
      inject: [DataSource, SINK],
    },
    { provide: ApiKeyRepository, useFactory: (dataSource: DataSource) => new ApiKeyRepository(dataSource), inject: [DataSource] },
    { provide: DatasetRepository, useFactory: (dataSource: DataSource) => new DatasetRepository(dataSource), inject: [DataSource] },
  ],
  exports: [RunRepository, EvaluationResultRepository, ApiKeyRepository, DatasetRepository],
})
export class DatabaseModule {}
