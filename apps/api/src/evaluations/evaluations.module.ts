import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdversarialExample, Checkpoint, RobustnessResult, Run } from '@bulwark/database';
import { RunsModule } from '../runs/runs.module';
import { EvaluationsController } from './evaluations.controller';
import { EvaluationsService } from './evaluations.service';

@Module({
  imports: [TypeOrmModule.forFeature([Run, Checkpoint, RobustnessResult, AdversarialExample]), RunsModule],
  controllers: [EvaluationsController],
  providers: [EvaluationsService],
})
export class EvaluationsModule {}
