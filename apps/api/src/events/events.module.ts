import { Global, Module } from '@nestjs/common';
import { RUN_EVENT_SINK } from '@bulwark/database';
import { RunsModule } from '../runs/runs.module';
import { EventsController } from './events.controller';
import { ApiRunEventPublisher } from './run-event.publisher';
import { RunEventStreams } from './run-event-streams.service';

/**
 * Live events: the sink the repositories publish to (global, so DatabaseModule's repositories
 * in every feature module find it) and the SSE routes that stream them back.
 */
@Global()
@Module({
  imports: [RunsModule],
  controllers: [EventsController],
  providers: [ApiRunEventPublisher, { provide: RUN_EVENT_SINK, useExisting: ApiRunEventPublisher }, RunEventStreams],
  exports: [RUN_EVENT_SINK],
})
export class EventsModule {}
