import { ConfigError, loadApiConfig, loadBoardConfig, loadWorkerConfig } from './load-config';

const base = { DATABASE_URL: 'postgres://u@localhost:5432/db', REDIS_URL: 'redis://localhost:6379' };

describe('loadApiConfig', () => {
  it('applies defaults from the schema', () => {
    const c = loadApiConfig(base);
    expect(c).toMatchObject({ port: 3000, maxEpochs: 100, queuePrefix: 'bulwark', jobAttempts: 10, predictTimeoutMs: 30000 });
  });

  it.each([
    [{ DATABASE_URL: undefined }, /DATABASE_URL is required/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL is not a valid URL/],
    [{ API_PORT: '70000' }, /API_PORT must be an integer/],
    [{ MAX_EPOCHS: '1.5' }, /MAX_EPOCHS must be an integer/],
    [{ QUEUE_PREFIX: 'a:b' }, /QUEUE_PREFIX/],
    [{ PREDICT_TIMEOUT_MS: '50' }, /PREDICT_TIMEOUT_MS must be an integer in \[100, 600000\]/],
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS must list origins/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /CORS_ORIGINS must list origins/],
    [{ RATE_LIMIT_SUBMITS: '0' }, /RATE_LIMIT_SUBMITS must be an integer/],
  ])('rejects %p naming the variable', (override, message) => {
    expect(() => loadApiConfig({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadApiConfig({ ...base, ...override })).toThrow(message);
  });
});

describe('loadApiConfig: exposure', () => {
  it('binds loopback, with CORS off, unless told otherwise', () => {
    expect(loadApiConfig(base)).toMatchObject({ host: '127.0.0.1', corsOrigins: [] });
    expect(loadApiConfig({ ...base, API_HOST: '0.0.0.0', CORS_ORIGINS: 'https://a.example, http://localhost:5173' })).toMatchObject({
      host: '0.0.0.0',
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
    });
  });

  it('takes the per-key rate limits', () => {
    expect(loadApiConfig(base).rateLimits).toEqual({ windowMs: 60_000, submits: 60, heavyReads: 600 });
  });
});

describe('loadWorkerConfig', () => {
  it('accepts a known backend and rejects an unknown one', () => {
    expect(loadWorkerConfig({ ...base, BULWARK_BACKEND: 'wasm' }).forcedBackend).toBe('wasm');
    expect(loadWorkerConfig({ ...base, BULWARK_BACKEND: 'webgpu' }).forcedBackend).toBe('webgpu');
    expect(() => loadWorkerConfig({ ...base, BULWARK_BACKEND: 'webgl' })).toThrow(/BULWARK_BACKEND must be one of node-gpu, node, webgpu, wasm, cpu/);
  });

  it('consumes every queue by default and only the listed ones when WORKER_QUEUES says so', () => {
    expect(loadWorkerConfig(base).queues).toEqual(['training', 'evaluation', 'gradients']);
    expect(loadWorkerConfig({ ...base, WORKER_QUEUES: ' training , training' }).queues).toEqual(['training']);
    expect(() => loadWorkerConfig({ ...base, WORKER_QUEUES: 'training,predict' })).toThrow(/WORKER_QUEUES must list one or more of training, evaluation/);
    expect(() => loadWorkerConfig({ ...base, WORKER_QUEUES: ',' })).toThrow(/WORKER_QUEUES/);
  });

  it('takes the lock duration and stalled-check interval, default 30 s, refusing ones too short to renew', () => {
    expect(loadWorkerConfig(base)).toMatchObject({ lockDurationMs: 30_000, stalledIntervalMs: 30_000 });
    expect(loadWorkerConfig({ ...base, WORKER_LOCK_DURATION_MS: '4000', WORKER_STALLED_INTERVAL_MS: '1000' })).toMatchObject({
      lockDurationMs: 4000,
      stalledIntervalMs: 1000,
    });
    expect(() => loadWorkerConfig({ ...base, WORKER_LOCK_DURATION_MS: '10' })).toThrow(/WORKER_LOCK_DURATION_MS/);
  });

  it('takes the crash budget, the capped backoff and the reconciler settings, with their defaults', () => {
    expect(loadWorkerConfig(base)).toMatchObject({
      jobAttempts: 10,
      jobBackoffMs: 5000,
      jobBackoffMaxMs: 60_000,
      crashBudget: 3,
      reconcileIntervalMs: 60_000,
      reconcileGraceMs: 30_000,
    });
    expect(loadWorkerConfig({ ...base, CRASH_BUDGET: '0', RECONCILE_INTERVAL_MS: '2000' })).toMatchObject({ crashBudget: 0, reconcileIntervalMs: 2000 });
    expect(() => loadWorkerConfig({ ...base, CRASH_BUDGET: '-1' })).toThrow(/CRASH_BUDGET must be an integer in \[0, 1000\]/);
    expect(() => loadWorkerConfig({ ...base, RECONCILE_INTERVAL_MS: '10' })).toThrow(/RECONCILE_INTERVAL_MS/);
  });
});

describe('loadBoardConfig', () => {
  it('needs Redis but not Postgres, and binds loopback by default', () => {
    expect(loadBoardConfig({ REDIS_URL: 'redis://localhost:6379' })).toEqual({
      redisUrl: 'redis://localhost:6379',
      queuePrefix: 'bulwark',
      host: '127.0.0.1',
      port: 3001,
    });
  });

  it.each([
    [{}, /REDIS_URL is required/],
    [{ REDIS_URL: 'redis://x', BOARD_PORT: '0' }, /BOARD_PORT must be an integer in \[1, 65535\]/],
    [{ REDIS_URL: 'redis://x', QUEUE_PREFIX: 'a:b' }, /QUEUE_PREFIX/],
  ])('rejects %p naming the variable', (env, message) => {
    expect(() => loadBoardConfig(env)).toThrow(message);
  });
});
