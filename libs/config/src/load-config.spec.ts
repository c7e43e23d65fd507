import { ConfigError, loadApiConfig, loadWorkerConfig } from './load-config';

const base = { DATABASE_URL: 'postgres://u@localhost:5432/db', REDIS_URL: 'redis://localhost:6379' };

describe('loadApiConfig', () => {
  it('applies defaults from the schema', () => {
    const c = loadApiConfig(base);
    expect(c).toMatchObject({ port: 3000, maxEpochs: 100, queuePrefix: 'bulwark', jobAttempts: 3, predictTimeoutMs: 30000 });
  });

  it.each([
    [{ DATABASE_URL: undefined }, /DATABASE_URL is required/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL is not a valid URL/],
    [{ API_PORT: '70000' }, /API_PORT must be an integer/],
    [{ MAX_EPOCHS: '1.5' }, /MAX_EPOCHS must be an integer/],
    [{ QUEUE_PREFIX: 'a:b' }, /QUEUE_PREFIX/],
    [{ PREDICT_TIMEOUT_MS: '50' }, /PREDICT_TIMEOUT_MS must be an integer in \[100, 600000\]/],
  ])('rejects %p naming the variable', (override, message) => {
    expect(() => loadApiConfig({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadApiConfig({ ...base, ...override })).toThrow(message);
  });
});

describe('loadWorkerConfig', () => {
  it('accepts a known backend and rejects an unknown one', () => {
    expect(loadWorkerConfig({ ...base, BULWARK_BACKEND: 'wasm' }).forcedBackend).toBe('wasm');
    expect(loadWorkerConfig({ ...base, BULWARK_BACKEND: 'webgpu' }).forcedBackend).toBe('webgpu');
    expect(() => loadWorkerConfig({ ...base, BULWARK_BACKEND: 'webgl' })).toThrow(/BULWARK_BACKEND must be one of node-gpu, node, webgpu, wasm, cpu/);
  });

  it('consumes both queues by default and only the listed ones when WORKER_QUEUES says so', () => {
    expect(loadWorkerConfig(base).queues).toEqual(['training', 'evaluation']);
    expect(loadWorkerConfig({ ...base, WORKER_QUEUES: ' training , training' }).queues).toEqual(['training']);
    expect(() => loadWorkerConfig({ ...base, WORKER_QUEUES: 'training,predict' })).toThrow(/WORKER_QUEUES must list one or more of training, evaluation/);
    expect(() => loadWorkerConfig({ ...base, WORKER_QUEUES: ',' })).toThrow(/WORKER_QUEUES/);
  });
});
