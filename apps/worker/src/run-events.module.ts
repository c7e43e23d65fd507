import { DynamicModule, Global, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type { WorkerConfig } from '@bulwark/config';
import { RUN_EVENT_SINK } from '@bulwark/database';
import { connectRunEventPublisher } from '@bulwark/queue';
import type { RunEvent, RunEventSink } from '@bulwark/spec';

/** The worker process's own events (a failed or retried run, a stranded one re-queued), on a connection it closes at shutdown. */
class WorkerRunEventPublisher implements RunEventSink, OnApplicationShutdown {
  constructor(private readonly connection: { sink: RunEventSink; close: () => Promise<void> }) {}

  publish(tenantId: string, event: RunEvent): Promise<void> {
    return this.connection.sink.publish(tenantId, event);
  }

  onApplicationShutdown(): Promise<void> {
    return this.connection.close();
  }
}

/** Global, so DatabaseModule's repositories find the sink (see RUN_EVENT_SINK). Job processes publish through their own (child-context.ts). */
@Global()
@Module({})
export class RunEventsModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    const logger = new Logger('RunEvents');
    return {
      module: RunEventsModule,
      providers: [
        {
          provide: RUN_EVENT_SINK,
          useFactory: () => new WorkerRunEventPublisher(connectRunEventPublisher(config.redisUrl, config.queuePrefix, (line) => logger.warn(line))),
        },
      ],
      exports: [RUN_EVENT_SINK],
    };
  }
}
