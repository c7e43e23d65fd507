import { API_MAIN, WORKER_MAIN, assertBuilt, startProcess } from '../support/processes';

/** An operator's first contact with a misconfiguration: one line that names it, and exit code 1. */
describe('boot-time configuration errors', () => {
  beforeAll(assertBuilt);

  const good = {
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    QUEUE_PREFIX: `${String(process.env.QUEUE_PREFIX)}-boot`,
    API_PORT: '0',
  };

  it.each([
    [
      'api',
      API_MAIN,
      { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      /^bulwark-api: cannot reach Postgres at postgres:\/\/nobody@127\.0\.0\.1:1\/none \(DATABASE_URL\): ECONNREFUSED$/,
    ],
    ['api', API_MAIN, { REDIS_URL: 'redis://127.0.0.1:1' }, /^bulwark-api: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(REDIS_URL\): ECONNREFUSED$/],
    ['api', API_MAIN, { DATABASE_URL: '' }, /^bulwark-api: DATABASE_URL is required/],
    ['api', API_MAIN, { MAX_EPOCHS: 'lots' }, /^bulwark-api: MAX_EPOCHS must be an integer/],
    ['worker', WORKER_MAIN, { REDIS_URL: 'redis://127.0.0.1:1' }, /^bulwark-worker: cannot reach Redis at .* \(REDIS_URL\): ECONNREFUSED$/],
    [
      'worker',
      WORKER_MAIN,
      { DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' },
      /^bulwark-worker: cannot reach Postgres at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x \(DATABASE_URL\): ECONNREFUSED$/,
    ],
    ['worker', WORKER_MAIN, { BULWARK_BACKEND: 'tpu' }, /^bulwark-worker: BULWARK_BACKEND must be one of node-gpu, node, webgpu, wasm, cpu/],
  ])('%s exits 1 with one line for %p', async (_app, main, env, line) => {
    const proc = startProcess(main, { ...good, ...env });
    const code = await proc.exited;
    expect(code).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });
});
