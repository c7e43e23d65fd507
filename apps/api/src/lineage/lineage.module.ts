import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RobustnessResult, Run } from '@bulwark/database';
import { LineageController } from './lineage.controller';
import { LineageService } from './lineage.service';

@Module({
  imports: [TypeOrmModule.forFeature([Run, RobustnessResult])],
  controllers: [LineageController],
  providers: [LineageService],
})
export class LineageModule {}
