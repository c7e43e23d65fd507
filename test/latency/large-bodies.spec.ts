import { createHash } from 'node:crypto';
import { loadApiConfig } from '../../libs/config/src';
import { MAX_INPUT_LENGTH, MAX_PREDICT_INPUTS, MAX_RESUME_METRICS } from '../../libs/spec/src';
import { createTestKeyAt } from '../support/api-keys';
import { TEST_RATE_LIMITS, uniqueQueuePrefix } from '../support/test-config';
import { API_MAIN, ManagedProcess, assertBuilt, freePort, startProcess, waitFor } from '../support/processes';

/**
 * The largest bodies each route lets through, and the issue's 100,000 resume metrics, posted to
 * a real API process two at a time while /health is polled from outside it: no request may hold
 * the event loop for long. The issue's stall was seconds long; here /health's median answer is a
 * few milliseconds, and its slowest, when two 32 MiB bodies' turns on the loop line up on a
 * 2-core machine, most of a second: the bound leaves that tail room and still fails a stall.
 * Every body is broken at its end, so the API parses and validates all of it and stores nothing.
 */

/** The longest /health may wait. */
const HEALTH_BOUND_MS = 1500;

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const ROUNDS = 5;

describe('large bodies against a real API process (no worker)', () => {
  let api: ManagedProcess;
  let base: string;
  let apiKey: string;

  /** Every request of this file goes through here: the one place that adds what every request must carry. */
  async function send(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; ms: number }> {
    const started = performance.now();
    const headers = { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${base}${path}`, { method, headers, body });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  }

  beforeAll(async () => {
    assertBuilt();
    apiKey = await createTestKeyAt(process.env.DATABASE_URL!);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = startProcess(API_MAIN, {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      QUEUE_PREFIX: uniqueQueuePrefix('large-bodies'),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      ...TEST_RATE_LIMITS,
    });
    await waitFor('the API to be healthy', async () => (await send('GET', '/health')).status === 200, 60_000);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('keeps /health answering within its bound while the largest bodies and 100,000 metric points are posted', async () => {
    const { modelUploadLimitBytes } = loadApiConfig({ ...process.env, QUEUE_PREFIX: 'unused' });
    const big = 'A'.repeat(Math.floor((modelUploadLimitBytes - 4096) / 4) * 4);
    const run = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 3, batchSize: 64, seed: 7700 };
    const bytes = Buffer.alloc(1024, 1);
    const checkpoint = { epoch: 2, data: bytes.toString('base64'), sha256: createHash('sha256').update(bytes).digest('hex'), format: 'bulwark-ckpt-v1' };
    const bodies: Array<{ name: string; path: string; body: string; status: number }> = [
      { name: 'resume, 32 MiB checkpoint', path: '/runs/resume', body: JSON.stringify({ run, checkpoint: { ...checkpoint, data: big } }), status: 400 },
      { name: 'import, 32 MiB of weights', path: '/models/import', body: JSON.stringify({ dataset: 'imagenet', modelJson: {}, weights: big }), status: 400 },
      {
        name: `predict, ${MAX_PREDICT_INPUTS} CIFAR-sized inputs`,
        path: `/evaluations/${UNKNOWN_ID}/predict`,
        body: JSON.stringify({
          inputs: Array.from({ length: MAX_PREDICT_INPUTS }, (_, i) => Array.from({ length: MAX_INPUT_LENGTH }, () => (i === 63 ? 2 : 0.123456789))),
        }),
        status: 400,
      },
      {
        // The most a resume may bring, accepted: stored in one transaction with its run.
        name: `resume, ${MAX_RESUME_METRICS} metric points, accepted`,
        path: '/runs/resume',
        body: JSON.stringify({
          run: { ...run, epochs: 20 },
          checkpoint,
          metrics: Array.from({ length: MAX_RESUME_METRICS }, (_, i) => ({ key: `k${i % 10_000}`, step: Math.floor(i / 10_000), value: i })),
        }),
        status: 201,
      },
      {
        name: 'resume, 100,000 metric points',
        path: '/runs/resume',
        body: JSON.stringify({
          run,
          checkpoint,
          metrics: Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i % 40_000}`, step: Math.floor(i / 40_000), value: i })),
        }),
        status: 400,
      },
    ];

    const polls: number[] = [];
    const pollStatuses = new Set<number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { status, ms } = await send('GET', '/health');
        polls.push(ms);
        pollStatuses.add(status);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const answers: Array<{ name: string; status: number; ms: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < bodies.length; i += 2) {
        // Two at a time: each alone, and each beside another.
        const pair = bodies.slice(i, i + 2);
        answers.push(...(await Promise.all(pair.map(async ({ name, path, body }) => ({ name, ...(await send('POST', path, body)) })))));
      }
    }
    polling = false;
    await poller;

    const sorted = [...polls].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const slowestPoll = sorted[sorted.length - 1];
    const slowest = answers.reduce((a, b) => (b.ms > a.ms ? b : a));
    process.stdout.write(
      `large bodies: ${answers.length} posted (${bodies.map((b) => b.name).join('; ')}), ` +
        `slowest answer ${slowest.ms.toFixed(0)} ms (${slowest.name}); ` +
        `/health polled ${polls.length} times meanwhile: median ${median.toFixed(0)} ms, slowest ${slowestPoll.toFixed(0)} ms\n`,
    );
    expect(answers.map(({ name, status }) => ({ name, status }))).toEqual(
      answers.map(({ name }) => ({ name, status: bodies.find((b) => b.name === name)!.status })),
    );
    expect([...pollStatuses]).toEqual([200]);
    expect(polls.length).toBeGreaterThan(5);
    expect(slowestPoll).toBeLessThan(HEALTH_BOUND_MS);
  });
});
