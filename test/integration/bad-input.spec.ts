import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { createHash, randomBytes } from 'node:crypto';
import { AddressInfo, Socket, connect } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { Checkpoint, Run } from '../../libs/database/src';
import { runMigrations } from '../../libs/database/src/run-migrations';
import { redisConnectionOptions } from '../../libs/queue/src/index';
import {
  GPU_QUEUES,
  MAX_INPUT_LENGTH,
  MAX_INT4,
  MAX_JSON_DEPTH,
  MAX_PREDICT_INPUTS,
  MAX_RESUME_METRICS,
  QUEUE_NAMES,
  createEvaluationRequestSchema,
  createRunRequestSchema,
  fieldPath,
  importModelRequestSchema,
  parseWithMessages,
  predictRequestSchema,
  resolveRunSpec,
  resumeRunRequestSchema,
} from '../../libs/spec/src';
import { createTestKey } from '../support/api-keys';
import { testApiConfig } from '../support/test-config';
import { databaseUrlFor, withAdminClient } from '../support/test-services';

/**
 * Issue 16, problem 4 and the bad-input corpus: malformed requests over every route of every
 * controller, generated systematically from valid bodies. Every one must be answered 4xx (never
 * 5xx), naming the field at fault where there is one, with nothing stored or enqueued, while
 * /health keeps answering within a second. The file has a database of its own, so "nothing
 * stored" is counted over whole tables, whatever other files do at the same time.
 */

/** A request of the corpus. */
interface Probe {
  /** What is wrong with it, for failure messages. */
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, sent exactly as written. */
  path: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as these characters (Content-Type application/json unless `headers` says otherwise). */
  raw?: string;
  headers?: Record<string, string>;
  /** The field some message must name; absent where the request as a whole is at fault. */
  field?: string;
  /** Send only the headers over a bare socket, declaring this Content-Length (what supertest cannot do). */
  declaredLength?: number;
}

interface Answer {
  status: number;
  messages: string[];
  ms: number;
}

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const FILE_SEED = 7600;

// Valid bodies with every optional field set (checked below to pass their schema), so that
// every field can be broken in turn and the schema is the only thing that can refuse it.
const fullRun = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: FILE_SEED,
  learningRate: 0.001,
  method: {
    name: 'pgd',
    epsilon: 0.1,
    stepSize: 0.01,
    steps: 3,
    randomStart: true,
    beta: 6,
    replays: 2,
    adversarialWeight: 0.5,
    epsilonWarmupEpochs: 1,
  },
  optimizer: { name: 'sgd', momentum: 0.9, nesterov: true },
  schedule: { kind: 'piecewise', milestones: [1], factor: 0.1, minLearningRate: 0, peakAt: 0.5 },
  overfittingGuard: { heldOut: 100, maxDrop: 0.2, maxGap: 0.3, onCollapse: 'stop' },
  temperature: 2,
  teacherCheckpoint: UNKNOWN_ID,
  fromCheckpoint: UNKNOWN_ID,
  testFraction: 0.2,
  dataParallel: { shards: 2 },
  requiresGpu: false,
};
const checkpointBytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 13) % 256));
const checkpoint = {
  epoch: 1,
  data: checkpointBytes.toString('base64'),
  sha256: createHash('sha256').update(checkpointBytes).digest('hex'),
  format: 'bulwark-ckpt-v1',
};
const plainRun = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 2, batchSize: 64, seed: FILE_SEED };
const fullResume = { run: fullRun, checkpoint, metrics: [{ key: 'train_loss', step: 1, value: 0.5 }] };
const fullEvaluation = (runId: string) => ({
  runId,
  checkpointEpoch: 1,
  norm: 'linf',
  epsilons: [0, 0.1],
  suite: 'custom',
  attacks: ['fgsm', 'pgd'],
  params: {
    pgd: { steps: 5, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' },
    apgd: { steps: 5, restarts: 1 },
    apgdTargeted: { steps: 5, targetClasses: 2 },
    square: { queries: 10, pInit: 0.8 },
  },
  examples: 100,
  seed: 0,
  defense: { preprocessing: [{ kind: 'bit-depth', bits: 4 }], logits: { kind: 'saturate-logits', temperature: 0.5 } },
  galleryPerEpsilon: 1,
  shardSize: 256,
  detectors: [{ kind: 'mahalanobis', fpr: 0.05, featureLayer: 'dense_1', shrinkage: 0.01 }],
  validationExamples: 100,
  detectorAware: { steps: 5, stepSize: 0.01, confidence: 1, detectorWeight: 1 },
  requiresGpu: false,
});
const fullPredict = { inputs: [[0, 0.5, 1]], detector: 'confidence' };
const modelJson = {
  format: 'layers-model',
  modelTopology: {
    model_config: {
      class_name: 'Sequential',
      config: {
        name: 'digits',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 28, 28, 1], dtype: 'float32', name: 'input_1' } },
          { class_name: 'Flatten', config: { name: 'flatten' } },
          { class_name: 'Dense', config: { name: 'logits', units: 10, use_bias: true } },
        ],
      },
    },
  },
  weightsManifest: [
    {
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'logits/kernel', shape: [784, 10], dtype: 'float32' },
        { name: 'logits/bias', shape: [10], dtype: 'float32' },
      ],
    },
  ],
};
const importWeights = Buffer.alloc((784 * 10 + 10) * 4).toString('base64');
const fullImport = { dataset: 'mnist', modelJson, weights: importWeights, name: 'digits', seed: 0, testFraction: 0.2 };

/** JSON kinds: a value of another kind than a field's is never valid for it. */
const KINDS = { null: null, boolean: true, number: 3.5, string: 'x', array: [1], object: { a: 1 } } as const;
type Kind = keyof typeof KINDS;
function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/** Every path of a value (arrays by their first element), leaves and inner nodes; `opaque` paths are not entered. */
function pathsOf(value: unknown, opaque: readonly string[], path: Array<string | number> = []): Array<Array<string | number>> {
  const here = path.length ? [path] : [];
  if (opaque.includes(fieldPath(path)) || typeof value !== 'object' || value === null) return here;
  const children: Array<[string | number, unknown]> = Array.isArray(value) ? (value.length ? [[0, value[0]]] : []) : Object.entries(value);
  return [...here, ...children.flatMap(([key, child]) => pathsOf(child, opaque, [...path, key]))];
}

function getAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

/** A deep copy with the value at `path` replaced (or removed, for undefined). */
function setAt(value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === undefined) Reflect.deleteProperty(parent, last);
  else parent[last] = replacement;
  return copy;
}

/** The field a message names for a path: list indexes at its end are named as "each value in x". */
function fieldOf(path: ReadonlyArray<string | number>): string {
  let end = path.length;
  while (end > 0 && typeof path[end - 1] === 'number') end--;
  return fieldPath(path.slice(0, end));
}

interface BodyRoute {
  path: string;
  /** The route's body limit, in bytes. */
  limit: number;
  body: unknown;
  schema: z.ZodType;
  /** Paths whose insides any JSON may fill (model.json), so only the field itself is broken. */
  opaque: readonly string[];
  /** Number fields that take any finite number (arrays named by their first element). */
  unbounded: readonly string[];
}

/** The corpus for one body route, generated from its valid body. */
function bodyProbes(route: BodyRoute): Probe[] {
  const { path, body, schema, opaque, unbounded, limit } = route;
  const post = (name: string, rest: Omit<Probe, 'name' | 'method' | 'path'>): Probe => ({ name: `${path}: ${name}`, method: 'POST', path, ...rest });
  const probes: Probe[] = [];
  const text = JSON.stringify(body);
  for (const at of pathsOf(body, opaque)) {
    const value = getAt(body, at);
    const field = fieldOf(at);
    const shown = fieldPath(at);
    // Wrong types: every JSON kind but the field's own.
    for (const [kind, wrong] of Object.entries(KINDS)) {
      if (kind !== kindOf(value)) probes.push(post(`${shown} as ${kind}`, { json: setAt(body, at, wrong), field }));
    }
    // Missing: only where the schema requires the field (leaving out an optional one is not bad input).
    const without = setAt(body, at, undefined);
    if (typeof at[at.length - 1] === 'string' && !parseWithMessages(schema, without).ok) probes.push(post(`without ${shown}`, { json: without, field }));
    // An unknown field inside every object.
    if (kindOf(value) === 'object' && !opaque.includes(shown))
      probes.push(post(`unknown field in ${shown}`, { json: setAt(body, [...at, 'unexpected'], 1), field: 'unexpected' }));
    // Out-of-range numbers: too large for anything the API stores, negative (no field takes one), past an int4 column.
    if (typeof value === 'number' && !unbounded.includes(shown)) {
      for (const wrong of [1e308, -1, 2 ** 31]) probes.push(post(`${shown} = ${wrong}`, { json: setAt(body, at, wrong), field }));
    }
    // Huge strings (as long as the route's limit lets through) and arrays far beyond their bounds.
    if (typeof value === 'string') {
      const room = Math.min(limit - text.length - 64, 1 << 20);
      probes.push(post(`${shown} of ${room} characters`, { json: setAt(body, at, `${value}${'!'.repeat(room)}`), field }));
    }
    if (Array.isArray(value) && value.length && !opaque.includes(shown)) {
      const copies = Math.min(10_000, Math.floor((limit - text.length) / (JSON.stringify(value[0]).length + 1)) - 1);
      probes.push(
        post(`${shown} with ${copies} elements`, {
          json: setAt(
            body,
            at,
            Array.from({ length: copies }, () => value[0]),
          ),
          field,
        }),
      );
    }
  }
  // Prototype keys, at the top and inside the first object field (inside model.json too), written as text since JS cannot.
  const nested = pathsOf(body, []).find((at) => kindOf(getAt(body, at)) === 'object');
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    probes.push(post(`top-level ${key}`, { raw: `{"${key}":{"polluted":true},${text.slice(1)}`, field: key }));
    if (!nested) continue;
    const inner = JSON.stringify(getAt(body, nested));
    const spliced = JSON.stringify(setAt(body, nested, '@@')).replace('"@@"', `{"${key}":{"polluted":true},${inner.slice(1)}`);
    probes.push(post(`${key} in ${fieldPath(nested)}`, { raw: spliced, field: key }));
  }
  // Deep nesting: the issue's 7,000 arrays in 14 KB, as many objects, and just past the limit inside a field.
  probes.push(post('7,000 nested arrays', { raw: `${'['.repeat(7000)}${']'.repeat(7000)}` }));
  probes.push(post('2,700 nested objects', { raw: `${'{"a":'.repeat(2700)}1${'}'.repeat(2700)}` }));
  const first = Object.keys(body as object)[0];
  probes.push(
    post(`${first} nested ${MAX_JSON_DEPTH + 1} deep`, {
      raw: JSON.stringify(setAt(body, [first], '@@')).replace('"@@"', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`),
    }),
  );
  // Broken JSON, and what is not JSON at all.
  for (const cut of [1, Math.floor(text.length / 2), text.length - 1]) probes.push(post(`JSON cut at ${cut}`, { raw: text.slice(0, cut) }));
  probes.push(post('a trailing comma', { raw: `${text.slice(0, -1)},}` }));
  probes.push(post('a JSON string', { raw: '"run"' }));
  probes.push(post('a JSON array', { raw: '[]' }));
  probes.push(post('null', { raw: 'null' }));
  probes.push(post('an empty object', { raw: '{}' }));
  for (const contentType of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16le',
    'application/xml',
  ]) {
    probes.push(post(`Content-Type ${contentType}`, { raw: text, headers: { 'Content-Type': contentType } }));
  }
  probes.push(post('Content-Encoding gzip that is not gzip', { raw: text, headers: { 'Content-Encoding': 'gzip' } }));
  probes.push(post('an unknown Content-Encoding', { raw: text, headers: { 'Content-Encoding': 'compress' } }));
  probes.push(post('a Content-Length of a gigabyte, body never sent', { declaredLength: 1 << 30 }));
  probes.push(post('a Content-Length one past the limit, body never sent', { declaredLength: limit + 1 }));
  return probes;
}

/** Bad Idempotency-Key headers on a route that takes one (the body otherwise valid, so the header is what is refused). */
function idempotencyKeyProbes(path: string, json: unknown): Probe[] {
  return [
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'two words'],
    ['a tab', 'tab\there'],
    ['empty', ''],
    ['latin-1', 'clé'],
  ].map(([name, key]) => ({
    name: `${path}: Idempotency-Key ${name}`,
    method: 'POST' as const,
    path,
    json,
    headers: { 'Idempotency-Key': key },
    field: 'Idempotency-Key',
  }));
}

const BAD_IDS = ['not-a-uuid', '..%2F..%2Fetc%2Fpasswd', "1'%20OR%20'1'%3D'1", `${UNKNOWN_ID}0`, UNKNOWN_ID.replace(/-/g, ''), 'x'.repeat(1000), '%00'];

describe('bad input (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let dataSource: DataSource;
  let database: string;
  let baseUrl: string;
  let port: number;
  let queues: Queue[];
  let trainedRunId: string;
  let apiKey: string;
  let adminKey: string;

  /** Every request of this file goes through here: the one place that adds what every request must carry. */
  async function send(probe: Probe): Promise<Answer> {
    const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, ...probe.headers };
    const started = performance.now();
    if (probe.declaredLength !== undefined) {
      const { status, text } = await headersOnly(probe.method, probe.path, {
        'Content-Type': 'application/json',
        'Content-Length': String(probe.declaredLength),
        ...headers,
      });
      return { status, messages: messagesOf(safeJson(text)), ms: performance.now() - started };
    }
    let req =
      probe.method === 'GET'
        ? request(baseUrl).get(probe.path)
        : probe.method === 'DELETE'
          ? request(baseUrl).delete(probe.path)
          : request(baseUrl).post(probe.path);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    if (probe.raw !== undefined) {
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) req = req.set('Content-Type', 'application/json');
      req = req.send(probe.raw);
    } else if (probe.json !== undefined) {
      req = req.send(probe.json as object);
    }
    const res = await req.ok(() => true);
    return { status: res.status, messages: messagesOf(res.body), ms: performance.now() - started };
  }

  /** A request whose headers declare a body that never comes: the answer must not wait for it. */
  function headersOnly(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(port, '127.0.0.1');
      let received = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${method} ${path}: no answer within 5 s to headers declaring ${headers['Content-Length']} bytes`));
      }, 5000);
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        const end = received.indexOf('\r\n\r\n');
        const length = /\r\ncontent-length: (\d+)/i.exec(received);
        if (end >= 0 && length && received.length >= end + 4 + Number(length[1])) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: Number(received.slice(9, 12)), text: received.slice(end + 4) });
        }
      });
      socket.on('error', reject);
      const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}`);
      socket.write(`${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  const stored = async (): Promise<Record<string, number>> => {
    const [row] = await dataSource.query<Array<Record<string, number>>>(
      `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM checkpoints) AS checkpoints,
              (SELECT count(*)::int FROM metrics) AS metrics, (SELECT count(*)::int FROM robustness_results) AS robustness_results,
              (SELECT count(*)::int FROM adversarial_examples) AS adversarial_examples, (SELECT count(*)::int FROM evaluation_shards) AS evaluation_shards,
              (SELECT count(*)::int FROM api_keys) AS api_keys, (SELECT count(*)::int FROM tenants) AS tenants,
              (SELECT count(*)::int FROM datasets) AS datasets`,
    );
    const counts = await Promise.all(queues.map((q) => q.getJobCounts()));
    return { ...row, jobs: counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0) };
  };

  /** What the corpus is sending while /health is polled, so the slowest poll can say what it waited behind. */
  let inFlight = '';

  /** Polls /health until stopped: every answer's status and latency, and the request in flight when it was sent. */
  function pollHealth(): { stop: () => Promise<Array<{ status: number; ms: number; during: string }>> } {
    const answers: Array<{ status: number; ms: number; during: string }> = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const during = inFlight;
        const { status, ms } = await send({ name: 'health', method: 'GET', path: '/health' });
        answers.push({ status, ms, during });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return answers;
      },
    };
  }

  beforeAll(async () => {
    database = `bulwark_test_bad_input_${randomBytes(3).toString('hex')}`;
    await withAdminClient((c) => c.query(`CREATE DATABASE ${database}`));
    await runMigrations(databaseUrlFor(database));
    config = testApiConfig('bad-input', { DATABASE_URL: databaseUrlFor(database) });
    app = await createApiApp(config, ['error', 'warn']);
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
    baseUrl = `http://127.0.0.1:${port}`;
    dataSource = app.get(DataSource);
    apiKey = await createTestKey(dataSource);
    adminKey = await createTestKey(dataSource, { role: 'admin' });
    const names = [...QUEUE_NAMES, ...Object.values(GPU_QUEUES)];
    queues = names.map((name) => new Queue(name, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix }));
    // A trained model to evaluate, written directly: no worker runs here.
    const resolved = resolveRunSpec(plainRun as z.infer<typeof createRunRequestSchema>, { maxEpochs: config.maxEpochs, maxBatchSize: config.maxBatchSize });
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    const trained = await dataSource.getRepository(Run).save({ kind: 'train', status: 'succeeded', spec: resolved.spec, attempts: 1 });
    trainedRunId = trained.id;
    await dataSource.getRepository(Checkpoint).insert({ runId: trained.id, ...checkpoint, data: checkpointBytes, sizeBytes: checkpointBytes.length });
  });

  afterAll(async () => {
    await Promise.all((queues ?? []).map(async (q) => q.obliterate({ force: true }).then(() => q.close())));
    await app?.close();
    if (database) await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  describe('issue 16, problem 4', () => {
    it('answers 400 naming the limit to 7,000 nested arrays in a 14 KB body, on every JSON route', async () => {
      const deep = `${'['.repeat(7000)}${']'.repeat(7000)}`;
      const bodies = [deep, `{"inputs":[${deep}]}`, `{"inputs":[[${deep}]]}`];
      for (const path of ['/runs', '/runs/resume', '/evaluations', `/evaluations/${UNKNOWN_ID}/predict`, '/models/import']) {
        for (const raw of bodies) {
          const answer = await send({ name: 'deep', method: 'POST', path, raw });
          expect({ path, ...answer }).toMatchObject({
            path,
            status: 400,
            messages: [`body nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`],
          });
        }
      }
    });

    it('answers 400 naming offset and limit to numbers Postgres cannot take', async () => {
      for (const query of ['offset=1e20', 'offset=99999999999999999999', `offset=${MAX_INT4 + 1}`, 'offset=', 'limit=1e2', 'limit=0x10']) {
        const answer = await send({ name: query, method: 'GET', path: `/runs?${query}` });
        expect({ query, ...answer }).toMatchObject({ query, status: 400, messages: [expect.stringMatching(/^(offset|limit) must/)] });
      }
    });

    it('answers 400 to a duplicate resume metric point, with or without an Idempotency-Key, and stores nothing', async () => {
      const before = await stored();
      const metrics = [
        { key: 'train_loss', step: 1, value: 0.5 },
        { key: 'train_loss', step: 1, value: 0.4 },
      ];
      for (const headers of [{}, { 'Idempotency-Key': `dup-${Date.now()}` }] as Array<Record<string, string>>) {
        const answer = await send({ name: 'duplicate', method: 'POST', path: '/runs/resume', json: { run: plainRun, checkpoint, metrics }, headers });
        expect(answer).toMatchObject({ status: 400, messages: ['metrics.1 repeats metrics.0 (key train_loss, step 1): each point once'] });
      }
      expect(await stored()).toEqual(before);
    });

    it('refuses 100,000 resume metrics at once while /health keeps answering within a second', async () => {
      const metrics = Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i % 40_000}`, step: Math.floor(i / 40_000), value: i }));
      const health = pollHealth();
      const answer = await send({
        name: '100k',
        method: 'POST',
        path: '/runs/resume',
        json: { run: { ...plainRun, epochs: 3 }, checkpoint: { ...checkpoint, epoch: 2 }, metrics },
      });
      const polls = await health.stop();
      expect(answer).toMatchObject({ status: 400, messages: [`metrics must contain no more than ${MAX_RESUME_METRICS} elements`] });
      expect(polls.filter((p) => p.status !== 200 || p.ms >= 1000)).toEqual([]);
    });

    it('refuses __proto__, constructor and prototype keys wherever they are, model.json included', async () => {
      const before = await stored();
      const bodies: Array<[string, string, string]> = [
        ['/runs', `{"__proto__":{"admin":true},${JSON.stringify(plainRun).slice(1)}`, 'property __proto__ should not exist'],
        [
          '/runs',
          JSON.stringify({ ...plainRun, attack: '@@' }).replace('"@@"', '{"constructor":{"x":1},"name":"fgsm","epsilon":0.1}'),
          'attack.property constructor should not exist',
        ],
        [
          '/models/import',
          JSON.stringify({ ...fullImport, modelJson: '@@' }).replace('"@@"', `{"__proto__":{"polluted":true},${JSON.stringify(modelJson).slice(1)}`),
          'modelJson.property __proto__ should not exist',
        ],
        [
          '/models/import',
          JSON.stringify({ ...fullImport, modelJson: { ...modelJson, modelTopology: { ...modelJson.modelTopology, prototype: { x: 1 } } } }),
          'modelJson.modelTopology.property prototype should not exist',
        ],
      ];
      for (const [path, raw, message] of bodies) {
        const answer = await send({ name: message, method: 'POST', path, raw });
        expect({ path, ...answer }).toMatchObject({ path, status: 400, messages: [expect.stringContaining(message)] });
      }
      expect(await stored()).toEqual(before);
    });

    it('refuses a featureLayer that is a path, before a worker ever sees it', async () => {
      const before = await stored();
      for (const featureLayer of ['../../../etc/passwd', '/etc/passwd', 'dense/../x', '.hidden']) {
        const answer = await send({
          name: featureLayer,
          method: 'POST',
          path: '/evaluations',
          json: { runId: trainedRunId, epsilons: [0.1], suite: 'quick', detectors: [{ kind: 'mahalanobis', featureLayer }] },
        });
        expect({ featureLayer, ...answer }).toMatchObject({
          status: 400,
          messages: [expect.stringMatching(/^detectors\.0\.featureLayer must be a layer name/)],
        });
      }
      expect(await stored()).toEqual(before);
    });

    it('answers 413 to a Content-Length over the limit at once, without waiting for the body', async () => {
      for (const path of ['/runs', '/runs/resume', '/models/import', `/evaluations/${UNKNOWN_ID}/predict`]) {
        const answer = await send({ name: 'declared', method: 'POST', path, declaredLength: 1 << 30 });
        expect({ path, ...answer }).toMatchObject({ status: 413, messages: [expect.stringMatching(/^body exceeds the limit of \d+ bytes/)] });
      }
    });
  });

  describe('the corpus', () => {
    const bodyRoutes = (): BodyRoute[] => [
      { path: '/runs', limit: config.bodyLimitBytes, body: fullRun, schema: createRunRequestSchema, opaque: [], unbounded: [] },
      {
        path: '/runs/resume',
        limit: config.modelUploadLimitBytes,
        body: fullResume,
        schema: resumeRunRequestSchema,
        opaque: [],
        unbounded: ['metrics.0.value'],
      },
      {
        path: '/evaluations',
        limit: config.bodyLimitBytes,
        body: fullEvaluation(trainedRunId),
        schema: createEvaluationRequestSchema,
        opaque: [],
        unbounded: [],
      },
      {
        path: `/evaluations/${UNKNOWN_ID}/predict`,
        limit: MAX_PREDICT_INPUTS * MAX_INPUT_LENGTH * 20 + 64 * 1024,
        body: fullPredict,
        schema: predictRequestSchema,
        opaque: [],
        unbounded: [],
      },
      { path: '/models/import', limit: config.modelUploadLimitBytes, body: fullImport, schema: importModelRequestSchema, opaque: ['modelJson'], unbounded: [] },
    ];

    it('starts from bodies that pass their schemas, so each probe breaks exactly one thing', () => {
      for (const { path, body, schema } of bodyRoutes()) expect({ path, ...parseWithMessages(schema, body) }).toMatchObject({ path, ok: true });
    });

    it('answers every malformed request 4xx, naming the field, storing nothing, with /health answering within a second throughout', async () => {
      const probes: Probe[] = [
        ...bodyRoutes().flatMap(bodyProbes),
        ...idempotencyKeyProbes('/runs', plainRun),
        ...idempotencyKeyProbes('/runs/resume', { run: plainRun, checkpoint }),
        ...idempotencyKeyProbes('/evaluations', { runId: trainedRunId, epsilons: [0.1], suite: 'quick' }),
        ...idempotencyKeyProbes('/models/import', fullImport),
        // Ids on every route that takes one: never a UUID, so never a stored row (404, as for an unknown id).
        ...[
          (id: string) => `/runs/${id}`,
          (id: string) => `/runs/${id}/metrics`,
          (id: string) => `/runs/${id}/checkpoints`,
          (id: string) => `/runs/${id}/checkpoints/${UNKNOWN_ID}`,
          (id: string) => `/runs/${UNKNOWN_ID}/checkpoints/${id}`,
          (id: string) => `/runs/${id}/lineage`,
          (id: string) => `/runs/${id}/checkpoints/${UNKNOWN_ID}/model.json`,
          (id: string) => `/runs/${UNKNOWN_ID}/checkpoints/${id}/weights.bin`,
          (id: string) => `/runs/${id}/checkpoints/${id}/model.tar.gz`,
          (id: string) => `/evaluations/${id}`,
        ].flatMap((route) => BAD_IDS.map((id): Probe => ({ name: `GET ${route(id)}`, method: 'GET', path: route(id) }))),
        ...BAD_IDS.map((id): Probe => ({ name: `cancel ${id}`, method: 'POST', path: `/runs/${id}/cancel` })),
        ...BAD_IDS.map((id): Probe => ({ name: `predict ${id}`, method: 'POST', path: `/evaluations/${id}/predict`, json: fullPredict })),
        // Query strings.
        ...[
          ['status=exploded', 'status'],
          ['kind=../x', 'kind'],
          ['limit=0', 'limit'],
          ['limit=201', 'limit'],
          ['limit=many', 'limit'],
          ['limit=-5', 'limit'],
          ['limit=1.5', 'limit'],
          ['limit=1&limit=2', 'limit'],
          ['offset=-1', 'offset'],
          ['offset=1e20', 'offset'],
          [`offset=${'9'.repeat(30)}`, 'offset'],
          ['offset=%20', 'offset'],
          [`idempotencyKey=${'k'.repeat(256)}`, 'idempotencyKey'],
          ['idempotencyKey=two%20words', 'idempotencyKey'],
          ['idempotencyKey=', 'idempotencyKey'],
          ['unknown=1', 'unknown'],
          ['__proto__=1', '__proto__'],
          ['constructor=1', 'constructor'],
          ['limit[]=5', 'limit[]'],
          ['status[a]=queued', 'status[a]'],
        ].map(([query, field]): Probe => ({ name: `GET /runs?${query}`, method: 'GET', path: `/runs?${query}`, field })),
        ...[
          ['key=../x', 'key'],
          ['key=TRAIN_LOSS', 'key'],
          [`key=${'k'.repeat(65)}`, 'key'],
          ['key=', 'key'],
          ['key=a&key=b', 'key'],
          ['step=1', 'step'],
        ].map(([query, field]): Probe => ({ name: `GET metrics?${query}`, method: 'GET', path: `/runs/${trainedRunId}/metrics?${query}`, field })),
        ...[
          ['runId=not-a-uuid', 'runId'],
          [`runId=${UNKNOWN_ID}x`, 'runId'],
          ['runId=', 'runId'],
          ["runId=1'%20OR%201=1", 'runId'],
          ['limit=5', 'limit'],
        ].map(([query, field]): Probe => ({ name: `GET /evaluations?${query}`, method: 'GET', path: `/evaluations?${query}`, field })),
        // Routes without a body are held to the same body rules as the others.
        ...[
          `/health`,
          `/runs`,
          `/runs/${trainedRunId}`,
          `/runs/${trainedRunId}/metrics`,
          `/runs/${trainedRunId}/checkpoints`,
          `/runs/${trainedRunId}/lineage`,
          '/evaluations',
        ].flatMap((path): Probe[] => [
          { name: `GET ${path} with a text/plain body`, method: 'GET', path, raw: 'hello', headers: { 'Content-Type': 'text/plain' } },
          { name: `GET ${path} with a deep body`, method: 'GET', path, raw: `${'['.repeat(5000)}${']'.repeat(5000)}` },
          { name: `GET ${path} with a prototype key`, method: 'GET', path, raw: '{"__proto__":{"x":1}}', field: '__proto__' },
        ]),
        {
          name: 'cancel with a text/plain body',
          method: 'POST',
          path: `/runs/${trainedRunId}/cancel`,
          raw: 'cancel',
          headers: { 'Content-Type': 'text/plain' },
        },
        { name: 'cancel with a deep body', method: 'POST', path: `/runs/${trainedRunId}/cancel`, raw: `${'['.repeat(5000)}${']'.repeat(5000)}` },
      ];
      // The admin routes (with an admin key, so that the request itself is what is refused), and keys that are no keys.
      const asAdmin = { Authorization: `Bearer ${adminKey}` };
      probes.push(
        ...(
          [
            ['role root', { role: 'root' }, 'role'],
            ['no role', {}, 'role'],
            ['role as a number', { role: 1 }, 'role'],
            ['another tenant', { role: 'member', tenant: 'other' }, 'tenant'],
            ['a prototype key', { role: 'member', ['__proto__']: { admin: true } }, '__proto__'],
          ] as Array<[string, object, string]>
        ).map(([name, json, field]): Probe => ({ name: `POST /admin/keys with ${name}`, method: 'POST', path: '/admin/keys', json, headers: asAdmin, field })),
        {
          name: 'POST /admin/keys text/plain',
          method: 'POST',
          path: '/admin/keys',
          raw: '{"role":"admin"}',
          headers: { ...asAdmin, 'Content-Type': 'text/plain' },
        },
        { name: 'POST /admin/keys deep', method: 'POST', path: '/admin/keys', raw: `${'['.repeat(5000)}${']'.repeat(5000)}`, headers: asAdmin },
        { name: 'POST /admin/keys with a member key', method: 'POST', path: '/admin/keys', json: { role: 'admin' } },
        { name: 'GET /admin/keys with a member key', method: 'GET', path: '/admin/keys' },
        ...BAD_IDS.map((id): Probe => ({ name: `DELETE /admin/keys/${id}`, method: 'DELETE', path: `/admin/keys/${id}`, headers: asAdmin })),
        { name: 'DELETE /admin/keys/unknown', method: 'DELETE', path: `/admin/keys/${UNKNOWN_ID}`, headers: asAdmin },
      );
      // Dataset uploads: multipart, the one route that takes no JSON; each body broken in one way.
      const multipart = (parts: Array<{ name: string; file?: string; body: string }>, close = true) =>
        parts
          .map((part) => `--b0\r\nContent-Disposition: form-data; name="${part.name}"${part.file ? `; filename="${part.file}"` : ''}\r\n\r\n${part.body}\r\n`)
          .join('') + (close ? '--b0--\r\n' : '');
      const asMultipart = { 'Content-Type': 'multipart/form-data; boundary=b0' };
      const named = { name: 'name', body: 'digits' };
      const idxHeader = '\u0000\u0000\u0008\u0003\u0000\u0000\u0000\u0002\u0000\u0000\u0000\u001c\u0000\u0000\u0000\u001c';
      probes.push(
        ...(
          [
            ['no parts at all', multipart([named]), 'train-images'],
            ['labels without images', multipart([named, { name: 'train-labels', file: 'l', body: 'xx' }]), 'train-images'],
            [
              'images that are no IDX or npy',
              multipart([named, { name: 'train-images', file: 'i', body: 'hello' }, { name: 'train-labels', file: 'l', body: 'xx' }]),
              'train-images',
            ],
            [
              'an IDX cut short',
              multipart([named, { name: 'train-images', file: 'i', body: idxHeader }, { name: 'train-labels', file: 'l', body: 'xx' }]),
              'train-images',
            ],
            ['an unknown part', multipart([{ name: 'weights', file: 'w', body: 'x' }]), 'weights'],
            ['an unknown field', multipart([{ name: 'owner', body: 'me' }]), 'owner'],
            ['a name of 10,000 characters', multipart([{ name: 'name', body: 'n'.repeat(10_000) }]), 'name'],
            ['a testFraction of 2', multipart([{ name: 'testFraction', body: '2' }]), 'testFraction'],
            ['a seed that is no number', multipart([{ name: 'seed', body: 'x' }]), 'seed'],
            ['classNames that are no list', multipart([{ name: 'classNames', body: '{"a":1}' }]), 'classNames'],
            ['no closing boundary', multipart([{ name: 'name', body: 'x' }], false), undefined],
          ] as Array<[string, string, string | undefined]>
        ).map(([name, raw, field]): Probe => ({ name: `POST /datasets with ${name}`, method: 'POST', path: '/datasets', raw, headers: asMultipart, field })),
        {
          name: 'POST /datasets multipart without a boundary',
          method: 'POST',
          path: '/datasets',
          raw: '--b0--',
          headers: { 'Content-Type': 'multipart/form-data' },
        },
        { name: 'POST /datasets as JSON', method: 'POST', path: '/datasets', json: { name: 'digits' } },
        { name: 'POST /datasets text/plain', method: 'POST', path: '/datasets', raw: 'x', headers: { 'Content-Type': 'text/plain' } },
        { name: 'POST /datasets declaring 1 GiB', method: 'POST', path: '/datasets', declaredLength: 1 << 30, headers: asMultipart },
        ...BAD_IDS.flatMap((id): Probe[] => [
          { name: `GET /datasets/${id}`, method: 'GET', path: `/datasets/${id}` },
          { name: `DELETE /datasets/${id}`, method: 'DELETE', path: `/datasets/${id}` },
        ]),
        ...['limit=0', 'limit=many', 'offset=-1', 'offset=1e20', 'unknown=1'].map((query): Probe => ({
          name: `GET /datasets?${query}`,
          method: 'GET',
          path: `/datasets?${query}`,
          field: query.split('=')[0],
        })),
        {
          name: 'a run on an uploaded dataset that does not exist',
          method: 'POST',
          path: '/runs',
          json: { ...plainRun, dataset: `upload:${UNKNOWN_ID}` },
          field: 'dataset',
        },
        { name: 'a run on an upload ref that is no id', method: 'POST', path: '/runs', json: { ...plainRun, dataset: 'upload:../x' }, field: 'dataset' },
      );
      for (const authorization of [
        'Bearer',
        'Bearer ',
        'Basic dXNlcjpwYXNz',
        `Bearer ${'k'.repeat(200)}`,
        'Bearer two words',
        'Bearer bwk_unknown',
        `bearer${apiKey}`,
      ]) {
        for (const [method, path] of [
          ['GET', '/runs'],
          ['POST', '/runs'],
          ['POST', `/runs/${trainedRunId}/cancel`],
          ['GET', '/admin/keys'],
        ] as const) {
          probes.push({
            name: `${method} ${path} with Authorization "${authorization.slice(0, 20)}"`,
            method,
            path,
            json: method === 'POST' ? plainRun : undefined,
            headers: { Authorization: authorization },
          });
        }
      }
      // Names that would be paths, wherever a name reaches a layer, a file or a metric series.
      for (const traversal of ['../../../etc/passwd', '/etc/passwd', '..', '.env', 'a/../../b']) {
        probes.push(
          {
            name: `featureLayer ${traversal}`,
            method: 'POST',
            path: '/evaluations',
            json: { runId: trainedRunId, epsilons: [0.1], suite: 'quick', detectors: [{ kind: 'mahalanobis', featureLayer: traversal }] },
            field: 'detectors.0.featureLayer',
          },
          {
            name: `weight path ${traversal}`,
            method: 'POST',
            path: '/models/import',
            json: { ...fullImport, modelJson: { ...modelJson, weightsManifest: [{ ...modelJson.weightsManifest[0], paths: [traversal] }] } },
            field: 'modelJson.weightsManifest[0].paths[0]',
          },
          {
            name: `metric key ${traversal}`,
            method: 'POST',
            path: '/runs/resume',
            json: { run: plainRun, checkpoint, metrics: [{ key: traversal, step: 1, value: 0 }] },
            field: 'metrics.0.key',
          },
          { name: `metrics query key ${traversal}`, method: 'GET', path: `/runs/${trainedRunId}/metrics?key=${encodeURIComponent(traversal)}`, field: 'key' },
        );
      }
      // NUL, which Postgres text and jsonb cannot hold, and other control characters in the strings that are stored.
      for (const control of ['\u0000', '\u001b[2J', '\u007f']) {
        probes.push(
          {
            name: `import name with ${JSON.stringify(control)}`,
            method: 'POST',
            path: '/models/import',
            json: { ...fullImport, name: `digits${control}` },
            field: 'name',
          },
          {
            name: `Idempotency-Key query with ${JSON.stringify(control)}`,
            method: 'GET',
            path: `/runs?idempotencyKey=${encodeURIComponent(`k${control}`)}`,
            field: 'idempotencyKey',
          },
        );
      }
      // The largest bodies each route lets through, broken only at the end: the server parses all of them.
      // Serialised here, so that /health measures the server's work on them rather than this file's.
      const big = 'A'.repeat(Math.floor((config.modelUploadLimitBytes - 4096) / 4) * 4);
      probes.push(
        {
          name: 'resume with the largest checkpoint, damaged',
          method: 'POST',
          path: '/runs/resume',
          raw: JSON.stringify({ run: plainRun, checkpoint: { ...checkpoint, data: big } }),
          field: 'checkpoint.sha256',
        },
        {
          name: 'import with the largest weights, wrong dataset',
          method: 'POST',
          path: '/models/import',
          raw: JSON.stringify({ ...fullImport, weights: big, dataset: 'imagenet' }),
          field: 'dataset',
        },
        {
          name: 'predict with the most inputs, one out of range',
          method: 'POST',
          path: `/evaluations/${UNKNOWN_ID}/predict`,
          raw: JSON.stringify({
            inputs: Array.from({ length: MAX_PREDICT_INPUTS }, (_, i) =>
              Array.from({ length: MAX_INPUT_LENGTH }, () => (i === MAX_PREDICT_INPUTS - 1 ? 2 : 0.123456789)),
            ),
          }),
          field: 'inputs',
        },
      );

      const before = await stored();
      const health = pollHealth();
      const failures: string[] = [];
      const byStatus = new Map<number, number>();
      for (const probe of probes) {
        inFlight = probe.name;
        const answer = await send(probe);
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        if (answer.status < 400 || answer.status >= 500) failures.push(`${probe.name}: ${answer.status} ${answer.messages.join('; ').slice(0, 200)}`);
        else if (probe.field && !answer.messages.some((m) => m.includes(probe.field!)))
          failures.push(`${probe.name}: ${answer.status} without naming ${probe.field}: ${answer.messages.join('; ').slice(0, 300)}`);
      }
      const polls = await health.stop();
      const after = await stored();

      const slowest = polls.reduce((a, b) => (b.ms > a.ms ? b : a));
      const statuses = [...byStatus.entries()]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}: ${count}`)
        .join(', ');
      process.stdout.write(
        `bad-input corpus: ${probes.length} requests over 24 routes (${statuses}); ${failures.length} failures; ` +
          `/health polled ${polls.length} times, slowest ${slowest.ms.toFixed(0)} ms (during "${slowest.during}")\n`,
      );
      expect(failures).toEqual([]);
      expect(probes.length).toBeGreaterThanOrEqual(200);
      expect(after).toEqual(before);
      expect(polls.filter((p) => p.status !== 200 || p.ms >= 1000)).toEqual([]);
      expect(polls.length).toBeGreaterThan(10);
    });
  });
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The messages of an error body ({ message: string | string[] }), or the text of one that is not JSON. */
function messagesOf(body: unknown): string[] {
  if (typeof body === 'string') return [body];
  const message = (body as { message?: unknown } | null)?.message;
  if (Array.isArray(message)) return message.map(String);
  if (message === undefined) return [];
  return [typeof message === 'string' ? message : JSON.stringify(message)];
}
