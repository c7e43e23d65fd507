/**
 * `npm run board`: bull-board over every Bulwark queue, read-only, for operators. It shows every
 * tenant's raw jobs (their payloads name runs and specs), so it is not part of the API, whose
 * keys are per tenant: it listens on its own port, on loopback unless BOARD_HOST says otherwise.
 * Read-only because a job removed or retried by hand would bypass the runs' bookkeeping (the
 * reconciler would repair it, but later). The run-level view is the dashboard's (/ui).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';
import type { Server } from 'node:http';
import { closeOnSignals, ConfigError, loadBoardConfig } from '@bulwark/config';
import { redisConnectionOptions } from '@bulwark/queue';
import { RUN_QUEUE_NAMES } from '@bulwark/spec';

async function main(): Promise<void> {
  const config = loadBoardConfig();
  const connection = redisConnectionOptions(config.redisUrl);
  const queues = RUN_QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix: config.queuePrefix }));
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: `Bulwark queues (${config.queuePrefix})` } },
  });
  const app = express();
  app.disable('x-powered-by');
  // Typed `any` by bull-board: it is an express Router.
  app.use('/', serverAdapter.getRouter() as express.Router);
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening)).once('error', reject);
  });
  console.log(`board: bull-board for queues ${RUN_QUEUE_NAMES.join(', ')} (prefix ${config.queuePrefix}) at http://${config.host}:${config.port}/`);
  closeOnSignals(
    {
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all(queues.map((queue) => queue.close()));
      },
    },
    'board',
    ['SIGTERM', 'SIGINT'],
    5000,
  );
}

main().catch((err: unknown) => {
  console.error(`board: ${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
