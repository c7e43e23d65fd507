import { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { EvaluationResultRepository, Run, RunRepository, dataSourceOptions } from '../../libs/database/src';
import { RedisRunEventPublisher, connectRunEventPublisher, decodeRunEvent, encodeRunEvent, runEventStreamKey } from '../../libs/queue/src/index';
import type { RunEvent, RunEventSink, RunSpec } from '../../libs/spec/src';
import { createTestKey } from '../support/api-keys';
import { freePort } from '../support/processes';
import { openSse } from '../support/sse-client';
import { TcpProxy, startTcpProxy } from '../support/tcp-proxy';
import { testApiConfig, uniqueQueuePrefix } from '../support/test-config';

const backend = { name: 'wasm', tfjsVersion: '4.22.0', threads: 1 };
const trainSpec = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 2, batchSize: 64, seed: 1 } as RunSpec;

/** A sink that keeps what it is given, as the Redis publisher would append it. */
class RecordingSink implements RunEventSink {
  readonly events: { tenantId: string; event: RunEvent }[] = [];
  publish(tenantId: string, event: RunEvent): Promise<void> {
    this.events.push({ tenantId, event });
    return Promise.resolve();
  }
  of(runId: string): Omit<RunEvent, 'at' | 'runId' | 'kind'>[] {
    return this.events.filter((e) => e.event.runId === runId).map(({ event: { at: _at, runId: _run, kind: _kind, ...body } }) => body);
  }
}

describe('run events (real Postgres and Redis)', () => {
  let dataSource: DataSource;
  let sink: RecordingSink;
  let runs: RunRepository;
  let results: EvaluationResultRepository;
  const newRun = async (spec: RunSpec = trainSpec) =>
    (await runs.createQueued({ tenantId: (await tenant()).id, spec, idempotencyKey: null, requestHash: 'h', parentRunId: null, parentCheckpointId: null })).run;
  const tenant = async () => (await dataSource.query<{ id: string }[]>(`SELECT id FROM tenants ORDER BY created_at LIMIT 1`))[0];

  beforeAll(async () => {
    dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'run-events-test')).initialize();
    await createTestKey(dataSource);
    sink = new RecordingSink();
    runs = new RunRepository(dataSource, sink);
    results = new EvaluationResultRepository(dataSource, sink);
  });
  afterAll(() => dataSource?.destroy());

  describe('the repositories publish each committed change, and only those', () => {
    it('a run from queued to succeeded: status, progress, every metric point, every checkpoint', async () => {
      const run = await newRun();
      await runs.markRunning(run.id, backend, 1);
      // A second delivery of a running run's job (after a crash) changes no status.
      await runs.markRunning(run.id, backend, 2);
      await runs.setProgress(run.id, 0.5);
      await runs.upsertMetrics(run.id, [
        { key: 'loss', step: 1, value: 0.7 },
        { key: 'test_clean_accuracy', step: 1, value: 0.9 },
      ]);
      await runs.saveCheckpoint(run.id, 1, Buffer.from('weights'), 'abc', 'bulwark-checkpoint/v1');
      expect(await runs.markSucceeded(run.id)).toBe(true);
      // An ended run never changes: refused writes publish nothing.
      expect(await runs.markFailed(run.id, 'late')).toBe(false);
      await runs.setProgress(run.id, 0.1);
      await runs.markRetrying(run.id, 'late', new Date());

      const [checkpoint] = await runs.checkpoints(run.id);
      expect(sink.of(run.id)).toEqual([
        { type: 'status', status: 'queued', error: null },
        { type: 'status', status: 'running', error: null },
        { type: 'progress', progress: 0.5 },
        { type: 'metric', key: 'loss', step: 1, value: 0.7 },
        { type: 'metric', key: 'test_clean_accuracy', step: 1, value: 0.9 },
        { type: 'checkpoint', checkpointId: checkpoint.id, epoch: 1, sizeBytes: 7, sha256: 'abc' },
        { type: 'status', status: 'succeeded', error: null },
      ]);
      const owner = await dataSource.getRepository(Run).findOneByOrFail({ id: run.id });
      expect(sink.events.filter((e) => e.event.runId === run.id).every((e) => e.tenantId === owner.tenantId && e.event.kind === 'train')).toBe(true);
    });

    it('retries, cancels and failures say why', async () => {
      const queued = await newRun();
      expect(await runs.requestCancel(queued.id)).toBe(true);
      expect(sink.of(queued.id).at(-1)).toEqual({ type: 'status', status: 'cancelled', error: null });

      const running = await newRun();
      await runs.markRunning(running.id, backend, 1);
      await runs.markRetrying(running.id, 'attempt 1 of 3 failed: boom', new Date());
      await runs.markRunning(running.id, backend, 2);
      // Flagged while running: its worker ends it, and that is the event.
      expect(await runs.requestCancel(running.id)).toBe(true);
      const beforeEnd = sink.of(running.id).length;
      await runs.markCancelled(running.id);
      expect(sink.of(running.id).slice(1)).toEqual([
        { type: 'status', status: 'running', error: null },
        { type: 'status', status: 'queued', error: 'attempt 1 of 3 failed: boom' },
        { type: 'status', status: 'running', error: null },
        { type: 'status', status: 'cancelled', error: null },
      ]);
      expect(beforeEnd).toBe(4);

      const failed = await newRun();
      await runs.markRunning(failed.id, backend, 1);
      await runs.markFailed(failed.id, 'dataset missing');
      expect(sink.of(failed.id).at(-1)).toEqual({ type: 'status', status: 'failed', error: 'dataset missing' });
    });

    it('an evaluation shard stored once: one shard event with the counts, and the progress it set', async () => {
      const run = await newRun({ kind: 'evaluation' } as RunSpec);
      await runs.markRunning(run.id, backend, 1);
      await results.planShards(
        run.id,
        [0, 1].map((i) => ({ view: 'direct' as const, shardIndex: i, start: i * 10, size: 10 })),
      );
      const shard = { view: 'direct' as const, shardIndex: 1, result: {}, seconds: 1, backend };
      expect(await results.saveShard(run.id, shard)).toBe(true);
      expect(await results.saveShard(run.id, shard)).toBe(false);
      expect(sink.of(run.id).slice(2)).toEqual([
        { type: 'shard', view: 'direct', index: 1, done: 1, total: 2 },
        { type: 'progress', progress: 0.5 },
      ]);
    });

    it('a sink that fails never fails the write', async () => {
      const broken: RunEventSink = { publish: () => Promise.reject(new Error('sink down')) };
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const repository = new RunRepository(dataSource, broken);
        const { run } = await repository.createQueued({
          tenantId: (await tenant()).id,
          spec: trainSpec,
          idempotencyKey: null,
          requestHash: 'h',
          parentRunId: null,
          parentCheckpointId: null,
        });
        expect(await repository.markRunning(run.id, backend, 1)).not.toBeNull();
        expect(await repository.markSucceeded(run.id)).toBe(true);
        expect((await repository.find(run.id))?.status).toBe('succeeded');
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe('the Redis publisher', () => {
    it('appends decodable entries to the tenant’s stream', async () => {
      const prefix = uniqueQueuePrefix('events');
      const { sink: publisher, close } = connectRunEventPublisher(process.env.REDIS_URL!, prefix, () => undefined);
      const reader = new Redis(process.env.REDIS_URL!);
      try {
        const events: RunEvent[] = [0.25, 0.5, 0.75].map((progress) => ({
          type: 'progress',
          runId: 'r1',
          kind: 'train',
          at: new Date().toISOString(),
          progress,
        }));
        // Published at once on a connection still coming up, without waiting: they arrive all the same, in order.
        for (const event of events) await publisher.publish('tenant-a', event);
        await close();
        const entries = await reader.xrange(runEventStreamKey(prefix, 'tenant-a'), '-', '+');
        expect(entries.map(([, fields]) => decodeRunEvent(fields))).toEqual(events);
        expect(await reader.exists(runEventStreamKey(prefix, 'tenant-b'))).toBe(0);
      } finally {
        reader.disconnect();
      }
    });

    it('with Redis unreachable, resolves within its timeout and says so once', async () => {
      const lines: string[] = [];
      const client = new Redis({
        port: await freePort(),
        host: '127.0.0.1',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        lazyConnect: false,
        retryStrategy: () => 200,
      });
      client.on('error', () => undefined);
      const publisher = new RedisRunEventPublisher(client, 'p', (line) => lines.push(line), 300);
      try {
        const event: RunEvent = { type: 'progress', runId: 'r1', kind: 'train', at: new Date().toISOString(), progress: 0.25 };
        await publisher.publish('t', event);
        await publisher.publish('t', event);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/cannot publish/);
      } finally {
        client.disconnect();
      }
    });
  });

  describe('the SSE routes', () => {
    let app: INestApplication;
    let proxy: TcpProxy;
    let base: string;
    let auth: { Authorization: string };
    let config: ApiConfig;

    beforeAll(async () => {
      const redis = new URL(process.env.REDIS_URL!);
      proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
      redis.port = String(proxy.port);
      config = testApiConfig('events', { REDIS_URL: redis.toString(), EVENT_STREAMS_PER_KEY: '2', STORE_TIMEOUT_MS: '500' });
      app = await createApiApp(config, ['error']);
      await app.listen(0, '127.0.0.1');
      base = await app.getUrl();
      auth = { Authorization: `Bearer ${await createTestKey(app.get(DataSource))}` };
    });
    afterAll(async () => {
      await app?.close();
      await proxy?.close();
    });

    it('bounds the streams one key holds open', async () => {
      const open = [await openSse(`${base}/events`, auth), await openSse(`${base}/events`, auth)];
      expect(open.map((s) => s.status)).toEqual([200, 200]);
      const third = await fetch(`${base}/events`, { headers: auth });
      expect(third.status).toBe(429);
      expect(((await third.json()) as { message: string }).message).toMatch(/EVENT_STREAMS_PER_KEY/);
      open[0].close();
      await open[0].ended;
      const again = await openSse(`${base}/events`, auth);
      // The server learns of the close asynchronously; the slot frees once it has.
      expect([200, 429]).toContain(again.status);
      again.close();
      open[1].close();
    });

    it('resumes after Last-Event-ID, and says so when the events after it were trimmed away', async () => {
      const [{ id: tenantId }] = await app.get(DataSource).query<{ id: string }[]>(`SELECT id FROM tenants WHERE name = 'default'`);
      const key = runEventStreamKey(config.queuePrefix, tenantId);
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const event = (progress: number): RunEvent => ({ type: 'progress', runId: 'r', kind: 'train', at: new Date().toISOString(), progress });
        const ids: string[] = [];
        for (const p of [0.1, 0.2, 0.3, 0.4]) ids.push((await redis.xadd(key, '*', ...encodeRunEvent(event(p))))!);

        const resumed = await openSse(`${base}/events`, { ...auth, 'Last-Event-ID': ids[1] });
        const messages = await resumed.until((ms) => ms.length >= 2, 10_000);
        resumed.close();
        expect(messages.map((m) => m.id)).toEqual(ids.slice(2));

        await redis.xtrim(key, 'MAXLEN', 2);
        const late = await openSse(`${base}/events?lastEventId=${ids[0]}`, auth);
        const afterGap = await late.until((ms) => ms.length >= 3, 10_000);
        late.close();
        expect(afterGap[0]).toEqual({ event: 'gap', data: JSON.stringify({ type: 'gap', after: ids[0], oldest: ids[2] }) });
        expect(afterGap.slice(1).map((m) => m.id)).toEqual(ids.slice(2));
      } finally {
        redis.disconnect();
      }
    });

    it('sends a heartbeat comment when nothing happens for 15 s', async () => {
      const quiet = await openSse(`${base}/events`, auth);
      try {
        await quiet.until(() => quiet.comments.includes('keep-alive'), 25_000);
        expect(quiet.messages).toEqual([]);
        expect(quiet.comments).toEqual(['connected', 'keep-alive']);
      } finally {
        quiet.close();
      }
    });

    it('ends open streams and answers 503 at once while Redis is down', async () => {
      const stream = await openSse(`${base}/events`, auth);
      expect(stream.status).toBe(200);
      await proxy.cut();
      try {
        await stream.ended;
        const started = Date.now();
        const res = await fetch(`${base}/events`, { headers: auth });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { message: string }).message).toBe('redis is unavailable');
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await proxy.restore();
      }
    });
  });
});
