import { Module } from '@nestjs/common';
import { DatabaseModule } from '@bulwark/database';
import { DatasetsModule } from '../datasets/datasets.module';
import { RunsModule } from '../runs/runs.module';
import { EvaluationsController } from './evaluations.controller';
import { EvaluationsService } from './evaluations.service';

@Module({
  imports: [DatabaseModule, RunsModule, DatasetsModule],
  controllers: [EvaluationsController],
  providers: [EvaluationsService],
})
export class EvaluationsModule {}
