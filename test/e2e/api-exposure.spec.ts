import { networkInterfaces } from 'node:os';
import { API_MAIN, ManagedProcess, assertBuilt, freePort, startProcess, waitFor } from '../support/processes';

/**
 * Problem 5 of issue 16, as an outsider meets the API process run with its defaults: it listened
 * on every interface, answered anyone, told them it was Express, and acted on a `text/plain` POST
 * that a page on any origin can send without a CORS preflight.
 */
describe('the API as an outsider meets it (process from dist/, default settings)', () => {
  let api: ManagedProcess;
  let port: number;
  const local = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init);

  beforeAll(async () => {
    assertBuilt();
    port = await freePort();
    // No API_HOST: the default is what is tested.
    api = startProcess(API_MAIN, {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      QUEUE_PREFIX: `${String(process.env.QUEUE_PREFIX)}-exposure`,
      API_PORT: String(port),
      API_HOST: undefined,
    });
    await waitFor('the API to be healthy', async () => (await local('/health')).ok, 60_000);
  });

  afterAll(() => api?.stop());

  it('listens on loopback only', async () => {
    expect(api.output()).toContain(`listening on http://127.0.0.1:${port}`);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const address of external) {
      await expect(fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    }
  });

  it('answers 401 to a request without a key, saying how to get one', async () => {
    for (const [method, path] of [
      ['GET', '/runs'],
      ['GET', '/evaluations'],
      ['POST', '/runs/00000000-0000-4000-8000-000000000001/cancel'],
    ]) {
      const res = await local(path, { method, headers: { 'content-type': 'application/json' } });
      expect([method, path, res.status]).toEqual([method, path, 401]);
      expect(((await res.json()) as { message: string }).message).toMatch(/Authorization: Bearer <key>.*npm run -s keys -- create/);
    }
  });

  it('refuses a text/plain POST (sendable cross-origin without a preflight) and grants no origin', async () => {
    const res = await local('/runs/00000000-0000-4000-8000-000000000001/cancel', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: '{}',
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps the OpenAPI document open, declaring the bearer key', async () => {
    const res = await local('/docs/openapi.json');
    expect(res.status).toBe(200);
    const document = (await res.json()) as { components: { securitySchemes: Record<string, { scheme: string }> } };
    expect(Object.values(document.components.securitySchemes).map((s) => s.scheme)).toEqual(['bearer']);
  });

  it('does not say what it runs on', async () => {
    expect((await local('/health')).headers.get('x-powered-by')).toBeNull();
  });
});
