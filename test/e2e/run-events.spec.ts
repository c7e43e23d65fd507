import { createTestKeyAt } from '../support/api-keys';
import { startTestCluster, TestCluster } from '../support/cluster';
import { API_MAIN, ManagedProcess, assertBuilt, freePort, startProcess, waitFor } from '../support/processes';
import { SseMessage, SseStream, openSse } from '../support/sse-client';

jest.setTimeout(300_000);

/** The JSON of a run event as the stream carries it (the contract is @bulwark/spec's RunEvent). */
interface StreamedEvent {
  type: string;
  runId: string;
  kind: string;
  at: string;
  status?: string;
  progress?: number;
  key?: string;
  step?: number;
  value?: number;
  checkpointId?: string;
  epoch?: number;
}

const parsed = (messages: SseMessage[]): StreamedEvent[] => messages.map((m) => JSON.parse(m.data) as StreamedEvent);
const endedWith = (runId: string, status: string) => (messages: SseMessage[]) =>
  parsed(messages).some((e) => e.runId === runId && e.type === 'status' && e.status === status);

const endedWithMessage = (runId: string) => (message: SseMessage) => endedWith(runId, 'succeeded')([message]);

/** Stream entry ids ("ms-seq") in stream order. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/**
 * Live events across API replicas: a worker's events reach a client connected to the replica
 * that did not take the submit, a stream resumed with Last-Event-ID misses and repeats nothing,
 * and another tenant sees none of it.
 */
describe('run events over SSE across two API replicas', () => {
  let cluster: TestCluster;
  let replicaB: ManagedProcess;
  let baseB: string;
  let otherTenant: { Authorization: string };
  /** The trained run of the second test, evaluated by the third. */
  let trainedRunId: string | undefined;
  const streams: SseStream[] = [];

  const sse = async (path: string, headers: Record<string, string>) => {
    const stream = await openSse(`${baseB}${path}`, headers);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e-events');
    const port = await freePort();
    baseB = `http://127.0.0.1:${port}`;
    // A grace well under HTTP keep-alive's 5 s: a stream's connection left open at shutdown would hold the close past it (exit 1).
    replicaB = startProcess(API_MAIN, { ...cluster.env, API_PORT: String(port), API_SHUTDOWN_GRACE_MS: '3000' });
    await waitFor('replica B to be healthy', async () => (await fetch(`${baseB}/health`).catch(() => undefined))?.ok, 60_000);
    otherTenant = { Authorization: `Bearer ${await createTestKeyAt(cluster.env.DATABASE_URL, { tenant: `events-other-${port}` })}` };
  });

  afterAll(async () => {
    streams.forEach((s) => s.close());
    await replicaB?.stop();
    await cluster?.stop();
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api B ---\n${replicaB.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-6000)}`);
    }
  });

  it('refuses a stream without a key, a malformed Last-Event-ID, and another tenant’s run', async () => {
    expect((await fetch(`${baseB}/events`)).status).toBe(401);
    const bad = await fetch(`${baseB}/events`, { headers: { ...cluster.auth, 'Last-Event-ID': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/Last-Event-ID/);
    const unknown = await fetch(`${baseB}/runs/00000000-0000-4000-8000-000000000000/events`, { headers: cluster.auth });
    expect(unknown.status).toBe(404);
  });

  it('streams a run from replica A’s submit and the worker to replica B, resumes without gap or duplicate, and keeps tenants apart', async () => {
    // Both tenants' streams open before the submit: each sees only what is written from then on.
    const tenantStream = await sse('/events', cluster.auth);
    const otherStream = await sse('/events', otherTenant);
    expect(tenantStream.status).toBe(200);
    expect(otherStream.status).toBe(200);

    const submitted = await cluster.call('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 5, batchSize: 64, seed: 7 });
    expect(submitted.status).toBe(201);
    const runId = submitted.body.id as string;
    trainedRunId = runId;

    // Another tenant cannot open the run's stream: it does not exist for them.
    const foreign = await fetch(`${baseB}/runs/${runId}/events`, { headers: otherTenant });
    expect(foreign.status).toBe(404);

    // The run's own stream, cut after its first checkpoint and resumed from the last id received.
    const first = await sse(`/runs/${runId}/events`, cluster.auth);
    expect(first.status).toBe(200);
    await first.until((ms) => parsed(ms).some((e) => e.type === 'checkpoint'), 240_000);
    first.close();
    const beforeCut = [...first.messages];
    const lastId = beforeCut[beforeCut.length - 1].id!;
    const resumed = await sse(`/runs/${runId}/events`, { ...cluster.auth, 'Last-Event-ID': lastId });
    await resumed.until(endedWith(runId, 'succeeded'), 240_000);
    // The cut fell mid-run: the resumed stream had events of its own to deliver.
    expect(beforeCut.some(endedWithMessage(runId))).toBe(false);
    expect(resumed.messages.length).toBeGreaterThan(0);
    await tenantStream.until(endedWith(runId, 'succeeded'), 30_000);

    // A fresh stream from the start replays everything retained: the reference the others are held to.
    const replay = await sse(`/runs/${runId}/events?lastEventId=0`, cluster.auth);
    await replay.until(endedWith(runId, 'succeeded'), 30_000);

    const stitched = [...beforeCut, ...resumed.messages];
    const ids = stitched.map((m) => m.id!);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1], ids[i])).toBeLessThan(0);
    expect(stitched).toEqual(replay.messages);
    expect(tenantStream.messages.filter((m) => (JSON.parse(m.data) as StreamedEvent).runId === runId)).toEqual(replay.messages);

    const events = parsed(replay.messages);
    expect(events.every((e) => e.runId === runId && e.kind === 'train')).toBe(true);
    expect(replay.messages.every((m) => m.event === (JSON.parse(m.data) as StreamedEvent).type)).toBe(true);
    expect(events.filter((e) => e.type === 'status').map((e) => e.status)).toEqual(['queued', 'running', 'succeeded']);

    const progress = events.filter((e) => e.type === 'progress').map((e) => e.progress!);
    expect(progress.length).toBeGreaterThan(0);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);

    // Every metric point and checkpoint the API lists arrived as an event, and nothing else did.
    const metrics = (await cluster.call('GET', `/runs/${runId}/metrics`)).body as { items: { key: string; step: number; value: number }[] };
    const listed = metrics.items.map((p) => `${p.key}@${p.step}=${p.value}`).sort();
    const streamedPoints = events.filter((e) => e.type === 'metric').map((e) => `${e.key!}@${e.step!}=${e.value!}`);
    expect(listed.length).toBeGreaterThan(0);
    expect([...new Set(streamedPoints)].sort()).toEqual(listed);
    const checkpoints = (await cluster.call('GET', `/runs/${runId}/checkpoints`)).body as { items: { id: string; epoch: number }[] };
    const streamedCheckpoints = events.filter((e) => e.type === 'checkpoint').map((e) => `${e.checkpointId!}@${e.epoch!}`);
    expect(streamedCheckpoints.sort()).toEqual(checkpoints.items.map((c) => `${c.id}@${c.epoch}`).sort());

    // The other tenant's stream was live all along and saw none of it.
    expect(otherStream.messages).toEqual([]);
    expect(otherStream.comments).toContain('connected');
  });

  it('streams an evaluation’s shards as they are stored, to the end', async () => {
    expect(trainedRunId).toBeDefined();
    // 600 examples in shards of 256: three shard jobs.
    const submitted = await cluster.call('POST', '/evaluations', {
      runId: trainedRunId,
      epsilons: [0, 0.1],
      suite: 'quick',
      examples: 600,
      shardSize: 256,
      seed: 3,
      params: { pgd: { steps: 5 } },
    });
    expect(submitted.status).toBe(201);
    const evaluationId = submitted.body.id as string;
    const stream = await sse(`/runs/${evaluationId}/events`, cluster.auth);
    await stream.until(endedWith(evaluationId, 'succeeded'), 240_000);

    const events = parsed(stream.messages) as (StreamedEvent & { done?: number; total?: number; index?: number })[];
    expect(events.every((e) => e.runId === evaluationId && e.kind === 'evaluation')).toBe(true);
    expect(events.filter((e) => e.type === 'status').map((e) => e.status)).toEqual(['queued', 'running', 'succeeded']);
    const shards = events.filter((e) => e.type === 'shard');
    const counts = (await cluster.call('GET', `/evaluations/${evaluationId}`)).body.shards as { done: number; total: number };
    expect(counts.total).toBeGreaterThanOrEqual(3);
    expect(shards).toHaveLength(counts.total);
    expect(shards.map((e) => e.done)).toEqual(Array.from({ length: counts.total }, (_, i) => i + 1));
    expect(shards.every((e) => e.total === counts.total)).toBe(true);
  });

  it('ends open streams when the API shuts down, so it stops within its grace period', async () => {
    const open = await sse('/events', cluster.auth);
    expect(open.status).toBe(200);
    // Past API_SHUTDOWN_GRACE_MS the API would exit 1: a stream left open holds the HTTP server's close.
    expect(await replicaB.stop(30_000)).toBe(0);
    await open.ended;
  });
});
