import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DataSource, type QueryRunner } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { ApiConfig } from '../../libs/config/src';
import { DatasetRepository, isDeletedDatasetError } from '../../libs/database/src';
import { encodeIdx, encodeNpy } from '../../libs/data/src';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { testApiConfig } from '../support/test-config';
import { waitFor } from '../support/processes';
import { HttpClient, createTestKey, keyedHttp } from '../support/api-keys';
import type { AddressInfo, Server } from 'node:net';

const LIMIT = 256 * 1024;
const TENANT = 'datasets-owner';
const OTHER_TENANT = 'datasets-other';

/** n grey side×side images (pixel = index mod 256) and labels cycling over `classes`, as gzipped IDX. */
function idxDataset(n: number, side: number, classes = 3): { images: Buffer; labels: Buffer } {
  const images = Uint8Array.from({ length: n * side * side }, (_, i) => Math.floor(i / (side * side)) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % classes);
  return {
    images: gzipSync(encodeIdx({ dims: [n, side, side], data: images })),
    labels: gzipSync(encodeIdx({ dims: [n], data: labels })),
  };
}

const run = (dataset: string, model = 'mlp') => ({ kind: 'train', dataset, model, epochs: 1, batchSize: 16, seed: 1 });

describe('datasets API (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let config: ApiConfig;
  let dataSource: DataSource;
  let queue: Queue;
  let http: HttpClient;
  let other: HttpClient;
  const stored = async (): Promise<number> => {
    const [{ count }] = await dataSource.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM datasets d JOIN tenants t ON t.id = d.tenant_id WHERE t.name = $1`,
      [TENANT],
    );
    return count;
  };
  const upload = (parts: Record<string, Buffer>, fields: Record<string, string> = { name: 'shapes' }) => {
    let req = http().post('/datasets');
    for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
    for (const [name, bytes] of Object.entries(parts)) req = req.attach(name, bytes, `${name}.bin`);
    return req;
  };

  beforeAll(async () => {
    config = testApiConfig('datasets', { DATASET_UPLOAD_LIMIT_BYTES: String(LIMIT) });
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app, { tenant: TENANT });
    other = await keyedHttp(app, { tenant: OTHER_TENANT });
    dataSource = app.get(DataSource);
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    await app?.close();
  });

  it('stores a gzipped IDX upload with a seeded split, byte for byte, and lists it', async () => {
    const { images, labels } = idxDataset(40, 12);
    const res = await upload({ 'train-images': images, 'train-labels': labels }, { name: 'shapes', testFraction: '0.25', seed: '5' }).expect(201);
    expect(res.body).toMatchObject({
      ref: `upload:${res.body.id}`,
      name: 'shapes',
      format: 'idx',
      shape: [12, 12, 1],
      classNames: ['0', '1', '2'],
      trainCount: 30,
      testCount: 10,
      testSplit: { kind: 'seeded', testFraction: 0.25, seed: 5 },
      sizeBytes: 40 * 144 + 40,
    });
    const data = await new DatasetRepository(dataSource).load(res.body.id);
    const hash = createHash('sha256');
    for (const part of [data!.trainImages, data!.trainLabels, data!.testImages, data!.testLabels]) hash.update(part);
    expect(hash.digest('hex')).toBe(res.body.sha256);
    // Every stored example is whole: its pixels all equal its original index, whose label is index mod 3.
    for (let i = 0; i < 30; i++) expect(data!.trainLabels[i]).toBe(data!.trainImages[i * 144] % 3);

    const list = await http().get('/datasets').expect(200);
    expect(list.body.items.map((d: { id: string }) => d.id)).toContain(res.body.id);
    await http().get(`/datasets/${res.body.id}`).expect(200);
  });

  it('stores .npy images with their own test parts and class names', async () => {
    const images = encodeNpy(
      [6, 4, 4, 3],
      Float32Array.from({ length: 6 * 48 }, (_, i) => (i % 255) / 255),
    );
    const labels = encodeNpy([6], Uint8Array.from([0, 1, 0, 1, 0, 1]));
    const res = await upload(
      { 'train-images': Buffer.from(images), 'train-labels': Buffer.from(labels), 'test-images': Buffer.from(images), 'test-labels': Buffer.from(labels) },
      { name: 'rgb', classNames: '["cat","dog"]' },
    ).expect(201);
    expect(res.body).toMatchObject({
      format: 'npy',
      shape: [4, 4, 3],
      classNames: ['cat', 'dog'],
      trainCount: 6,
      testCount: 6,
      testSplit: { kind: 'official' },
    });
  });

  it('refuses each invalid upload with a 4xx naming what is wrong, and stores nothing', async () => {
    const good = idxDataset(20, 8);
    const before = await stored();
    const cases: Array<[ReturnType<typeof upload>, number, RegExp]> = [
      [http().post('/datasets').send({ name: 'json' }), 415, /Content-Type must be multipart\/form-data/],
      [upload({ 'train-images': good.images }), 400, /^train-labels: missing/],
      [upload({ 'train-images': good.images, 'train-labels': idxDataset(19, 8).labels }), 400, /^train-labels: 19 labels for 20 images/],
      [upload({ 'train-images': good.images, 'train-labels': good.labels, extra: good.labels }), 400, /^extra: unknown part/],
      [upload({ 'train-images': good.images, 'train-labels': good.labels }, {}), 400, /^name/],
      [upload({ 'train-images': good.images, 'train-labels': good.labels }, { name: 'x', testFraction: '0.9' }), 400, /^testFraction/],
      [
        upload({ 'train-images': good.images, 'train-labels': good.labels }, { name: 'x', classNames: 'a,b' }),
        400,
        /^train-labels: label 2 at index 2 is out of range/,
      ],
      [upload({ 'train-images': good.images, 'train-labels': good.labels }, { name: 'x', colour: 'red' }), 400, /^colour: unknown field/],
      [
        upload({ 'train-images': Buffer.from(encodeNpy([20, 8, 8], new Float32Array(1280).fill(2))), 'train-labels': good.labels }),
        400,
        /^train-images: pixel value 2 at element 0 is outside \[0, 1\]/,
      ],
      [
        upload({ 'train-images': Buffer.from(encodeNpy([20, 8, 8, 4], new Uint8Array(5120))), 'train-labels': good.labels }),
        400,
        /^train-images: images have 4 channels/,
      ],
      [upload({ 'train-images': gzipSync(Buffer.alloc(LIMIT * 4)), 'train-labels': good.labels }), 400, /^train-images: decompresses to more than/],
      [upload({ 'train-images': Buffer.alloc(LIMIT + 1), 'train-labels': good.labels }), 413, /DATASET_UPLOAD_LIMIT_BYTES/],
    ];
    for (const [req, status, message] of cases) {
      const res = await req;
      expect({ status: res.status, message: res.body.message?.[0] }).toEqual({ status, message: expect.stringMatching(message) });
    }
    expect(await stored()).toBe(before);
    // Every other route still takes JSON only.
    await http().post('/runs').attach('train-images', good.images, 'x').expect(415);
  });

  it('refuses a chunked upload (no Content-Length) as soon as it streams past the limit, and stores nothing', async () => {
    const server = app.getHttpServer() as Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const key = await createTestKey(dataSource, { tenant: TENANT });
    const before = await stored();
    const boundary = 'bulwark-test-boundary';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="train-images"; filename="x.npy"\r\n\r\n`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Four times the limit, with no Content-Length: only counting what streams in can refuse it.
        controller.enqueue(sent === 0 ? head : new Uint8Array(16 * 1024));
        sent += 1;
        if (sent > (4 * LIMIT) / (16 * 1024)) controller.close();
      },
    });
    const res = await fetch(`http://127.0.0.1:${port}/datasets`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string[] }).message).toEqual([expect.stringContaining('DATASET_UPLOAD_LIMIT_BYTES')]);
    expect(await stored()).toBe(before);
  });

  it('trains by id only for its own tenant, refuses a model the image size does not fit, and deletes only when unused', async () => {
    const small = idxDataset(20, 8);
    const { body: dataset } = await upload({ 'train-images': small.images, 'train-labels': small.labels }, { name: 'tiny' }).expect(201);

    const lenet = await http().post('/runs').send(run(dataset.ref, 'lenet5')).expect(400);
    expect(lenet.body.message).toEqual([expect.stringMatching(/^model: model lenet5 needs inputs of at least 12×12×C, got 8×8×1/)]);
    const missing = await http().post('/runs').send(run('upload:00000000-0000-4000-8000-000000000000')).expect(400);
    expect(missing.body.message).toEqual([expect.stringMatching(/^dataset: dataset upload:0{8}-.* does not exist/)]);
    const malformed = await http().post('/runs').send(run('upload:nope')).expect(400);
    expect(malformed.body.message.join()).toMatch(/dataset/);

    // Another tenant sees nothing of it.
    await other().get(`/datasets/${dataset.id}`).expect(404);
    await other().delete(`/datasets/${dataset.id}`).expect(404);
    expect((await other().get('/datasets').expect(200)).body.total).toBe(0);
    const foreign = await other().post('/runs').send(run(dataset.ref)).expect(400);
    expect(foreign.body.message).toEqual([expect.stringMatching(/^dataset: dataset upload:.* does not exist/)]);

    const { body: training } = await http().post('/runs').send(run(dataset.ref, 'cnn-wong')).expect(201);
    expect(training.spec.dataset).toBe(dataset.ref);
    const refused = await http().delete(`/datasets/${dataset.id}`).expect(409);
    expect(refused.body.message).toContain(training.id);
    await http().get(`/datasets/${dataset.id}`).expect(200);

    await http().post(`/runs/${training.id}/cancel`).expect(202);
    await http().delete(`/datasets/${dataset.id}`).expect(204);
    await http().get(`/datasets/${dataset.id}`).expect(404);
    await http().post('/runs').send(run(dataset.ref)).expect(400);
  });

  describe('a run stored while its dataset is being deleted', () => {
    const insertRun = (runner: QueryRunner, ref: string) =>
      runner.query(`INSERT INTO runs (kind, spec) VALUES ('train', $1) RETURNING id`, [JSON.stringify({ ...run(ref), seed: 4242 })]) as Promise<
        { id: string }[]
      >;
    const newDataset = async (): Promise<{ id: string; ref: string }> => {
      const { images, labels } = idxDataset(20, 8);
      return (await upload({ 'train-images': images, 'train-labels': labels }, { name: 'raced' }).expect(201)).body;
    };

    it('makes a delete that comes while the run is being stored wait for it, and refuse', async () => {
      const dataset = await newDataset();
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        // A submit between its check and its commit: the run is inserted, not yet committed.
        await runner.startTransaction();
        const [{ id: runId }] = await insertRun(runner, dataset.ref);
        const deleting = http()
          .delete(`/datasets/${dataset.id}`)
          .then((res) => res);
        await waitFor(
          'the delete to wait for the run being stored',
          async () => {
            const [{ count }] = await dataSource.query<{ count: number }[]>(
              `SELECT count(*)::int AS count FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
              ['%FROM datasets WHERE id = $1 AND tenant_id = $2 FOR UPDATE%'],
            );
            return count > 0;
          },
          10_000,
          20,
        );
        await runner.commitTransaction();
        const res = await deleting;
        expect(res.status).toBe(409);
        expect(res.body.message).toContain(runId);
      } finally {
        await runner.release();
      }
      await http().get(`/datasets/${dataset.id}`).expect(200);
    });

    it('fails the insert of a run that comes while the dataset is being deleted, with an error the API words as a 400', async () => {
      const dataset = await newDataset();
      const deleter = dataSource.createQueryRunner();
      const submitter = dataSource.createQueryRunner();
      await Promise.all([deleter.connect(), submitter.connect()]);
      try {
        await deleter.startTransaction();
        await deleter.query(`SELECT id FROM datasets WHERE id = $1 FOR UPDATE`, [dataset.id]);
        await deleter.query(`DELETE FROM datasets WHERE id = $1`, [dataset.id]);
        const inserting = insertRun(submitter, dataset.ref).then(
          () => null,
          (error: unknown) => error,
        );
        await deleter.commitTransaction();
        expect(isDeletedDatasetError(await inserting)).toBe(true);
      } finally {
        await Promise.all([deleter.release(), submitter.release()]);
      }
    });
  });
});
