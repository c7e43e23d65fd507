import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { assertServicesReachable, closeOnSignals, loadWorkerConfig } from '@bulwark/config';
import { describeBackend } from '@bulwark/tfjs-runtime';
import { probeBackend } from './backend-probe';
import { WorkerModule } from './worker.module';

/** The worker: a Nest application context (no HTTP) that consumes the queues until SIGTERM. */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  await assertServicesReachable(config);
  const backend = await probeBackend(config.forcedBackend, (line) => Logger.log(line, 'backend probe'));
  Logger.log(`job processes will run on ${describeBackend(backend)}`, 'backend probe');
  // Job processes inherit the probe's choice instead of probing again: on a machine without a GPU,
  // asking Dawn for an adapter loads a software rasteriser into every process for nothing.
  process.env.BULWARK_BACKEND = backend.name;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class but reads a plain object.
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, backend), { logger: ['error', 'warn', 'log'] });
  closeOnSignals(app, 'bulwark-worker');
  Logger.log(`worker ${process.pid} ready`, 'bulwark-worker');
}

main().catch((err: unknown) => {
  console.error(`bulwark-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
