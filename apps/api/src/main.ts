import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { assertServicesReachable, closeOnSignals, loadApiConfig } from '@bulwark/config';
import { createApiApp } from './bootstrap-api';

async function main(): Promise<void> {
  const config = loadApiConfig();
  await assertServicesReachable(config);
  const app = await createApiApp(config);
  closeOnSignals(app, 'bulwark-api', ['SIGTERM', 'SIGINT'], config.shutdownGraceMs);
  await app.listen(config.port, config.host);
  Logger.log(`listening on http://${config.host}:${config.port} (OpenAPI at /docs)`, 'bulwark-api');
}

main().catch((err: unknown) => {
  // One line that names what is wrong (a variable, an unreachable service), not a stack trace.
  console.error(`bulwark-api: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
