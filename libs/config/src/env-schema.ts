/**
 * Every environment variable Bulwark reads, declared once. The API and the worker validate
 * their slice at boot (`loadConfig`), docker-compose.yml is checked against this list by a
 * test, and the README's table is written from it.
 */
export type AppName = 'api' | 'worker' | 'migrate' | 'board';

export interface EnvVarSpec {
  readonly name: string;
  readonly apps: readonly AppName[];
  readonly required: boolean;
  readonly default?: string;
  readonly description: string;
}

export const ENV_SCHEMA: readonly EnvVarSpec[] = [
  { name: 'DATABASE_URL', apps: ['api', 'worker', 'migrate'], required: true, description: 'Postgres connection URL (postgres://user:pass@host:port/db)' },
  { name: 'REDIS_URL', apps: ['api', 'worker', 'board'], required: true, description: 'Redis connection URL (redis://host:port[/db])' },
  {
    name: 'QUEUE_PREFIX',
    apps: ['api', 'worker', 'board'],
    required: false,
    default: 'bulwark',
    description: 'Redis key prefix for every BullMQ queue (tests use their own)',
  },
  {
    name: 'API_HOST',
    apps: ['api'],
    required: false,
    default: '127.0.0.1',
    description: 'Interface the HTTP server binds: loopback unless set (docker-compose.yml sets 0.0.0.0 inside the container)',
  },
  { name: 'API_PORT', apps: ['api'], required: false, default: '3000', description: 'HTTP port' },
  {
    name: 'BOARD_HOST',
    apps: ['board'],
    required: false,
    default: '127.0.0.1',
    description: "Interface `npm run board` (bull-board, every tenant's raw jobs, for operators) binds: loopback unless set",
  },
  { name: 'BOARD_PORT', apps: ['board'], required: false, default: '3001', description: "`npm run board`'s HTTP port" },
  {
    name: 'BODY_LIMIT_BYTES',
    apps: ['api'],
    required: false,
    default: '16384',
    description: 'Largest accepted JSON body; larger requests get 413 (model uploads and predict requests have their own limits)',
  },
  {
    name: 'MODEL_UPLOAD_LIMIT_BYTES',
    apps: ['api'],
    required: false,
    default: '33554432',
    description:
      'Largest body of POST /models/import (model.json plus the weights in base64, 4/3 of their size) ' +
      'and of POST /runs/resume (a checkpoint in base64); larger uploads get 413',
  },
  {
    name: 'DATASET_UPLOAD_LIMIT_BYTES',
    apps: ['api'],
    required: false,
    default: '268435456',
    description:
      'Largest body of POST /datasets (a multipart upload of IDX or .npy files), and largest any one part may decompress to; ' +
      'larger uploads get 413 and nothing is stored',
  },
  {
    name: 'CORS_ORIGINS',
    apps: ['api'],
    required: false,
    description:
      'Origins (scheme://host[:port], comma-separated) whose web pages may call the API from a browser; unset, CORS is off and browsers refuse cross-origin calls',
  },
  {
    name: 'RATE_LIMIT_WINDOW_MS',
    apps: ['api'],
    required: false,
    default: '60000',
    description: 'The window of the per-key rate limits; a key over a limit gets 429 (with Retry-After) for one window from its first refused request',
  },
  {
    name: 'RATE_LIMIT_SUBMITS',
    apps: ['api'],
    required: false,
    default: '60',
    description: 'Submits per API key per window: POST /runs, /runs/resume, /evaluations, /evaluations/:id/predict, /models/import',
  },
  {
    name: 'RATE_LIMIT_HEAVY_READS',
    apps: ['api'],
    required: false,
    default: '600',
    description: 'Heavy reads per API key per window: run and evaluation lists, metrics, lineage, evaluations with their galleries, checkpoint downloads',
  },
  {
    name: 'EVENT_STREAMS_PER_KEY',
    apps: ['api'],
    required: false,
    default: '10',
    description:
      'Live event streams (GET /events, /runs/:id/events) one API key may hold open on one API replica; one more gets 429. Each holds a Redis connection',
  },
  { name: 'MAX_EPOCHS', apps: ['api'], required: false, default: '100', description: 'Largest `epochs` a run may ask for' },
  { name: 'MAX_BATCH_SIZE', apps: ['api'], required: false, default: '1024', description: 'Largest `batchSize` a run may ask for' },
  {
    name: 'JOB_ATTEMPTS',
    apps: ['api', 'worker'],
    required: false,
    default: '10',
    description:
      'BullMQ attempts per job: failed attempts are retried with exponential backoff capped at JOB_BACKOFF_MAX_MS, ' +
      "so the default rides out about 6 minutes of a store's outage (a worker's crash is not an attempt: see CRASH_BUDGET)",
  },
  { name: 'JOB_BACKOFF_MS', apps: ['api', 'worker'], required: false, default: '5000', description: 'Base delay of the exponential retry backoff' },
  {
    name: 'JOB_BACKOFF_MAX_MS',
    apps: ['worker'],
    required: false,
    default: '60000',
    description: 'Longest delay between two attempts of a job: the exponential backoff stops growing there',
  },
  {
    name: 'PREDICT_TIMEOUT_MS',
    apps: ['api'],
    required: false,
    default: '30000',
    description: 'How long POST /evaluations/:id/predict waits for a worker to answer before a 504',
  },
  {
    name: 'STORE_TIMEOUT_MS',
    apps: ['api'],
    required: false,
    default: '800',
    description:
      'How long the API waits to connect to Postgres or Redis, or for a Redis command, before it answers 503 ' +
      '("postgres is unavailable" / "redis is unavailable") instead of holding the request',
  },
  {
    name: 'API_SHUTDOWN_GRACE_MS',
    apps: ['api'],
    required: false,
    default: '10000',
    description: 'On SIGTERM, how long the API may take to close its connections before it exits anyway (a store that is down cannot hold it)',
  },
  {
    name: 'WORKER_CONCURRENCY',
    apps: ['worker'],
    required: false,
    default: '1',
    description: 'Jobs one worker process runs at once on each queue (training, evaluation, gradients), each in its own child process',
  },
  {
    name: 'WORKER_QUEUES',
    apps: ['worker'],
    required: false,
    default: 'training,evaluation,gradients',
    description:
      'Queues this worker consumes, comma-separated (training, evaluation, gradients: the shards of data-parallel training steps): ' +
      'e.g. a GPU worker that only trains beside CPU workers that evaluate and answer predict requests',
  },
  {
    name: 'WORKER_SHUTDOWN_GRACE_MS',
    apps: ['worker'],
    required: false,
    default: '30000',
    description:
      'On SIGTERM, how long the worker waits for its running jobs before stopping their child processes ' +
      "(the jobs are re-delivered and resume from their checkpoints); a container's stop timeout must exceed it",
  },
  {
    name: 'WORKER_LOCK_DURATION_MS',
    apps: ['worker'],
    required: false,
    default: '30000',
    description: "A job's lock in Redis, renewed at half this period: a worker that dies holding a job loses it after at most this long",
  },
  {
    name: 'WORKER_STALLED_INTERVAL_MS',
    apps: ['worker'],
    required: false,
    default: '30000',
    description: 'How often a worker looks for jobs whose lock expired (their worker died) and hands them to the next free worker',
  },
  {
    name: 'BULWARK_BACKEND',
    apps: ['worker'],
    required: false,
    description:
      'Force a TensorFlow.js backend: node-gpu, node, webgpu, wasm or cpu (default: the first that loads; webgpu only on a GPU, see docs/gpu-workers.md)',
  },
  {
    name: 'FASHION_MNIST_DIR',
    apps: ['worker'],
    required: false,
    default: '/usr/share/datasets/fashion-mnist',
    description: 'Fashion-MNIST IDX files, gzipped or not (Debian package dataset-fashion-mnist)',
  },
  {
    name: 'CIFAR10_DIR',
    apps: ['worker'],
    required: false,
    description: 'CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin); cifar10 runs fail with a clear error while unset',
  },
  {
    name: 'CRASH_BUDGET',
    apps: ['worker'],
    required: false,
    default: '3',
    description:
      'Crashes (its worker killed or frozen past its lock) a run survives without progress; the next one fails it. ' +
      'A crash after the run wrote a newer checkpoint than at the last crash starts the count again',
  },
  {
    name: 'RECONCILE_INTERVAL_MS',
    apps: ['worker'],
    required: false,
    default: '60000',
    description:
      'How often a worker checks every queued or running run against its job (also once at start): ' +
      'a run whose job is gone or failed is enqueued again, resumed, cancelled or failed with a reason',
  },
  {
    name: 'RECONCILE_GRACE_MS',
    apps: ['worker'],
    required: false,
    default: '30000',
    description: 'Runs changed more recently than this are left to the API and workers that may still be handling them (between insert and enqueue)',
  },
  { name: 'CANCEL_POLL_MS', apps: ['worker'], required: false, default: '500', description: 'How often a running job checks whether its run was cancelled' },
];
