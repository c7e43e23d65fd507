import { Module } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  imports: [RunsModule],
  controllers: [ModelsController],
  providers: [ModelsService],
})
export class ModelsModule {}
