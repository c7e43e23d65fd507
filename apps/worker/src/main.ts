import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { assertServicesReachable, closeOnSignals, loadWorkerConfig } from '@bulwark/config';
import { WorkerModule } from './worker.module';

/** The worker: a Nest application context (no HTTP) that consumes the queues until SIGTERM. */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  await assertServicesReachable(config);
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class but reads a plain object.
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['error', 'warn', 'log'] });
  closeOnSignals(app, 'bulwark-worker');
  Logger.log(`worker ${process.pid} ready`, 'bulwark-worker');
}

main().catch((err: unknown) => {
  console.error(`bulwark-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
