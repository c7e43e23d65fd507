import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { DatabaseModule } from '@bulwark/database';
import { EVALUATION_QUEUE, TRAINING_QUEUE } from '@bulwark/queue';
import { RunJobsProducer } from './run-jobs.producer';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  imports: [DatabaseModule, BullModule.registerQueue({ name: TRAINING_QUEUE }, { name: EVALUATION_QUEUE })],
  controllers: [RunsController],
  providers: [RunsService, RunJobsProducer],
  exports: [BullModule, RunsService, RunJobsProducer],
})
export class RunsModule {}
