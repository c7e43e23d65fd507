import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyRepository } from './api-key.repository';
import { DatasetRepository } from './dataset.repository';
import { EvaluationResultRepository } from './evaluation-result.repository';
import { RunRepository } from './run.repository';

/**
 * The repositories as Nest providers, built over the DataSource the importing app's
 * TypeOrmModule.forRoot provides. The repositories themselves stay plain classes, so the
 * worker's sandboxed child processes (no Nest container) construct them directly.
 */
@Module({
  providers: [
    { provide: RunRepository, useFactory: (dataSource: DataSource) => new RunRepository(dataSource), inject: [DataSource] },
    { provide: EvaluationResultRepository, useFactory: (dataSource: DataSource) => new EvaluationResultRepository(dataSource), inject: [DataSource] },
    { provide: ApiKeyRepository, useFactory: (dataSource: DataSource) => new ApiKeyRepository(dataSource), inject: [DataSource] },
    { provide: DatasetRepository, useFactory: (dataSource: DataSource) => new DatasetRepository(dataSource), inject: [DataSource] },
  ],
  exports: [RunRepository, EvaluationResultRepository, ApiKeyRepository, DatasetRepository],
})
export class DatabaseModule {}
