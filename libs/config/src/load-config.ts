import { BACKEND_NAMES, QUEUE_NAMES, type BackendName, type QueueName } from '@bulwark/spec';
import { AppName, ENV_SCHEMA } from './env-schema';

/** Thrown at boot; its message names the variable so the operator knows what to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface CommonConfig {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
}

export interface ApiConfig extends CommonConfig {
  host: string;
  port: number;
  bodyLimitBytes: number;
  /** POST /models/import only: an upload is far larger than any other request. */
  modelUploadLimitBytes: number;
  /** POST /datasets only: the whole multipart body, and each part once decompressed. */
  datasetUploadLimitBytes: number;
  maxEpochs: number;
  maxBatchSize: number;
  jobAttempts: number;
  jobBackoffMs: number;
  predictTimeoutMs: number;
  /** Connecting to Postgres or Redis, or a Redis command, that takes longer counts as the store being down (a 503). */
  storeTimeoutMs: number;
  shutdownGraceMs: number;
  /** Origins allowed to call from a browser; empty: CORS off. */
  corsOrigins: string[];
  /** Per-API-key limits within one window, held in Redis so they hold across API replicas. */
  rateLimits: { windowMs: number; submits: number; heavyReads: number };
  /** Open SSE streams per API key on one replica (each holds its own Redis connection). */
  eventStreamsPerKey: number;
}

export interface WorkerConfig extends CommonConfig {
  concurrency: number;
  /** Queues this process consumes; at least one. */
  queues: QueueName[];
  /** On shutdown, how long running jobs may go on before their child processes are stopped. */
  shutdownGraceMs: number;
  /** BullMQ's job lock and stalled-job check: how soon a job whose worker died is re-delivered. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  forcedBackend?: BackendName;
  cancelPollMs: number;
  /** The retry policy of the jobs this worker enqueues (the reconciler's) and the cap of every job's backoff. */
  jobAttempts: number;
  jobBackoffMs: number;
  jobBackoffMaxMs: number;
  /** Crashes without progress a run survives. */
  crashBudget: number;
  reconcileIntervalMs: number;
  reconcileGraceMs: number;
  /** Where the worker reads datasets that are files on disk. */
  datasetDirs: { fashionMnist: string; cifar10?: string };
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const spec = ENV_SCHEMA.find((v) => v.name === name);
  if (!spec) throw new Error(`internal: ${name} is not declared in ENV_SCHEMA`);
  const value = env[name]?.trim();
  if (value) return value;
  if (spec.required) throw new ConfigError(`${name} is required (${spec.description})`);
  return spec.default;
}

/** `raw` for a variable that is required or has a default: one without either is a bug in ENV_SCHEMA. */
function present(env: Env, name: string): string {
  const value = raw(env, name);
  if (value === undefined) throw new Error(`internal: ${name} is neither required nor given a default in ENV_SCHEMA`);
  return value;
}

function url(env: Env, name: string, protocols: string[]): string {
  const value = present(env, name);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${value}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return value;
}

function integer(env: Env, name: string, min: number, max: number): number {
  const value = present(env, name);
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}] (got "${value}")`);
  }
  return n;
}

function queues(env: Env): Pick<CommonConfig, 'redisUrl' | 'queuePrefix'> {
  const queuePrefix = present(env, 'QUEUE_PREFIX');
  // BullMQ joins prefix and queue name with ':'; a ':' inside the prefix would split keys wrongly.
  if (!/^[A-Za-z0-9_.-]+$/.test(queuePrefix)) {
    throw new ConfigError(`QUEUE_PREFIX may hold only letters, digits, '_', '.', '-' (got "${queuePrefix}")`);
  }
  return { redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']), queuePrefix };
}

function common(env: Env): CommonConfig {
  return { databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']), ...queues(env) };
}

export function loadApiConfig(env: Env = process.env): ApiConfig {
  return {
    ...common(env),
    host: present(env, 'API_HOST'),
    port: integer(env, 'API_PORT', 0, 65535),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 256, 10 * 1024 * 1024),
    modelUploadLimitBytes: integer(env, 'MODEL_UPLOAD_LIMIT_BYTES', 1024, 512 * 1024 * 1024),
    datasetUploadLimitBytes: integer(env, 'DATASET_UPLOAD_LIMIT_BYTES', 1024, 1024 * 1024 * 1024),
    maxEpochs: integer(env, 'MAX_EPOCHS', 1, 10_000),
    maxBatchSize: integer(env, 'MAX_BATCH_SIZE', 1, 65_536),
    jobAttempts: integer(env, 'JOB_ATTEMPTS', 1, 100),
    jobBackoffMs: integer(env, 'JOB_BACKOFF_MS', 0, 3_600_000),
    predictTimeoutMs: integer(env, 'PREDICT_TIMEOUT_MS', 100, 600_000),
    storeTimeoutMs: integer(env, 'STORE_TIMEOUT_MS', 50, 60_000),
    shutdownGraceMs: integer(env, 'API_SHUTDOWN_GRACE_MS', 100, 600_000),
    corsOrigins: corsOrigins(env),
    rateLimits: {
      windowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 1000, 86_400_000),
      submits: integer(env, 'RATE_LIMIT_SUBMITS', 1, 1_000_000),
      heavyReads: integer(env, 'RATE_LIMIT_HEAVY_READS', 1, 1_000_000),
    },
    eventStreamsPerKey: integer(env, 'EVENT_STREAMS_PER_KEY', 1, 1000),
  };
}

/** Exact origins only: a wildcard would let any page act with a key a user pasted into it. */
function corsOrigins(env: Env): string[] {
  const value = raw(env, 'CORS_ORIGINS');
  if (value === undefined) return [];
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map((origin) => {
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
        throw new ConfigError(`CORS_ORIGINS must list origins like https://app.example.com, comma-separated, without paths or '*' (got "${origin}")`);
      }
      return origin;
    });
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const backend = raw(env, 'BULWARK_BACKEND');
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new ConfigError(`BULWARK_BACKEND must be one of ${BACKEND_NAMES.join(', ')} (got "${backend}")`);
  }
  return {
    ...common(env),
    concurrency: integer(env, 'WORKER_CONCURRENCY', 1, 64),
    queues: workerQueues(env),
    shutdownGraceMs: integer(env, 'WORKER_SHUTDOWN_GRACE_MS', 0, 3_600_000),
    lockDurationMs: integer(env, 'WORKER_LOCK_DURATION_MS', 1000, 600_000),
    stalledIntervalMs: integer(env, 'WORKER_STALLED_INTERVAL_MS', 500, 600_000),
    forcedBackend: backend as BackendName | undefined,
    cancelPollMs: integer(env, 'CANCEL_POLL_MS', 50, 60_000),
    jobAttempts: integer(env, 'JOB_ATTEMPTS', 1, 100),
    jobBackoffMs: integer(env, 'JOB_BACKOFF_MS', 0, 3_600_000),
    jobBackoffMaxMs: integer(env, 'JOB_BACKOFF_MAX_MS', 0, 86_400_000),
    crashBudget: integer(env, 'CRASH_BUDGET', 0, 1000),
    reconcileIntervalMs: integer(env, 'RECONCILE_INTERVAL_MS', 500, 86_400_000),
    reconcileGraceMs: integer(env, 'RECONCILE_GRACE_MS', 0, 86_400_000),
    datasetDirs: { fashionMnist: present(env, 'FASHION_MNIST_DIR'), cifar10: raw(env, 'CIFAR10_DIR') },
  };
}

function workerQueues(env: Env): QueueName[] {
  const value = present(env, 'WORKER_QUEUES');
  const names = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  const unknown = names.filter((name) => !(QUEUE_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigError(`WORKER_QUEUES must list one or more of ${QUEUE_NAMES.join(', ')}, comma-separated (got "${value}")`);
  }
  return names as QueueName[];
}

/** `npm run board`: Redis and the queues' prefix, and where to listen (loopback unless BOARD_HOST says otherwise). */
export interface BoardConfig {
  redisUrl: string;
  queuePrefix: string;
  host: string;
  port: number;
}

export function loadBoardConfig(env: Env = process.env): BoardConfig {
  return { ...queues(env), host: present(env, 'BOARD_HOST'), port: integer(env, 'BOARD_PORT', 1, 65535) };
}

export function loadMigrateConfig(env: Env = process.env): Pick<CommonConfig, 'databaseUrl'> {
  return { databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']) };
}

/** Variables an app reads, for documentation and for checking deployment files. */
export function envVarsFor(app: AppName) {
  return ENV_SCHEMA.filter((v) => v.apps.includes(app));
}
