import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { DatabaseModule } from '@bulwark/database';
import { EVALUATION_GPU_QUEUE, EVALUATION_QUEUE, TRAINING_GPU_QUEUE, TRAINING_QUEUE } from '@bulwark/queue';
import { DatasetsModule } from '../datasets/datasets.module';
import { ModelExportController } from './model-export.controller';
import { ModelExportService } from './model-export.service';
import { RunJobsProducer } from './run-jobs.producer';
import { WorkerPresenceService } from './worker-presence.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  imports: [
    DatabaseModule,
    DatasetsModule,
    BullModule.registerQueue({ name: TRAINING_QUEUE }, { name: EVALUATION_QUEUE }, { name: TRAINING_GPU_QUEUE }, { name: EVALUATION_GPU_QUEUE }),
  ],
  controllers: [RunsController, ModelExportController],
  providers: [RunsService, RunJobsProducer, WorkerPresenceService, ModelExportService],
  exports: [BullModule, RunsService, RunJobsProducer, WorkerPresenceService],
})
export class RunsModule {}
