import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { Run, RunRepository } from '../../libs/database/src';
import { EVALUATION_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { EvaluationRunSpec, TrainingRunSpec } from '../../libs/spec/src';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

const trainingSpec: TrainingRunSpec = {
  kind: 'adversarial-training',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 2,
  batchSize: 64,
  seed: 9,
  learningRate: 0.001,
  testFraction: 0.2,
};

describe('evaluations API (real Postgres and Redis, no worker)', () => {
  let app: INestApplication;
  let queue: Queue;
  let dataSource: DataSource;
  let trained: Run;
  let http: HttpClient;
  // Only this file's evaluations (all of `trained`): other files write to the same database concurrently.
  const evaluationCount = () => dataSource.getRepository(Run).countBy({ kind: 'evaluation', parentRunId: trained.id });

  beforeAll(async () => {
    // No worker runs here: a predict request waits this long, then gets its 504.
    const config = testApiConfig('evaluations', { PREDICT_TIMEOUT_MS: '1500' });
    app = await createApiApp(config, ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    dataSource = app.get(DataSource);
    queue = new Queue(EVALUATION_QUEUE, { connection: redisConnectionOptions(config.redisUrl), prefix: config.queuePrefix });
    trained = await dataSource.getRepository(Run).save({ kind: 'adversarial-training', status: 'succeeded', spec: trainingSpec });
    const runs = app.get(RunRepository);
    await runs.saveCheckpoint(trained.id, 1, Buffer.from([1]), '1'.repeat(64), 'test');
    await runs.saveCheckpoint(trained.id, 2, Buffer.from([2]), '2'.repeat(64), 'test');
  });

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    await app?.close();
  });

  it('stores an evaluation run derived from the newest checkpoint, with every hyperparameter resolved, and enqueues it', async () => {
    const res = await http()
      .post('/evaluations')
      .send({ runId: trained.id, epsilons: [0.3, 0, 0.1] })
      .expect(201);
    expect(res.body).toMatchObject({ kind: 'evaluation', status: 'queued', parentRunId: trained.id });
    expect(res.body.spec).toEqual({
      kind: 'evaluation',
      sourceRunId: trained.id,
      checkpointId: res.body.parentCheckpointId,
      checkpointEpoch: 2,
      dataset: 'mnist',
      model: 'mlp',
      datasetSeed: 9,
      testFraction: 0.2,
      norm: 'linf',
      epsilons: [0, 0.1, 0.3],
      suite: 'standard',
      attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'],
      params: {
        pgd: { steps: 20, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' },
        apgd: { steps: 100, restarts: 1 },
        apgdTargeted: { steps: 100, targetClasses: 3 },
        square: { queries: 1000, pInit: 0.8 },
      },
      examples: 1000,
      seed: 0,
      galleryPerEpsilon: 4,
      shardSize: 256,
    });
    const job = await queue.getJob(res.body.id);
    expect(job?.name).toBe('evaluation');
    expect(job?.data).toEqual({ runId: res.body.id });
  });

  it('takes a chosen checkpoint, overrides only the parameters given, and drops Square for L2', async () => {
    const res = await http()
      .post('/evaluations')
      .send({ runId: trained.id, checkpointEpoch: 1, norm: 'l2', epsilons: [0.5, 1.5], params: { pgd: { steps: 50 } }, examples: 200, seed: 3 })
      .expect(201);
    expect(res.body.spec).toMatchObject({ checkpointEpoch: 1, norm: 'l2', attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t'], examples: 200, seed: 3 });
    expect(res.body.spec.params.pgd).toEqual({ steps: 50, stepSizeFactor: 2.5, restarts: 1, loss: 'ce' });
  });

  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['a shard size off the batch grid', () => ({ runId: trained.id, epsilons: [0.1], shardSize: 300 }), /^shardSize must be a multiple of 256$/],
    ['a runId that is not a UUID', () => ({ runId: 'abc', epsilons: [0.1] }), /^runId must be a UUID/],
    ['an unknown runId', () => ({ runId: '00000000-0000-4000-8000-000000000000', epsilons: [0.1] }), /^runId: run .* does not exist/],
    [
      'a missing checkpoint epoch',
      () => ({ runId: trained.id, checkpointEpoch: 7, epsilons: [0.1] }),
      /^checkpointEpoch: run .* has no checkpoint for epoch 7/,
    ],
    ['missing epsilons', () => ({ runId: trained.id }), /^epsilons/],
    ['empty epsilons', () => ({ runId: trained.id, epsilons: [] }), /^epsilons must contain at least 1 elements/],
    ['a negative epsilon', () => ({ runId: trained.id, epsilons: [-0.1] }), /^each value in epsilons must not be less than 0/],
    ['an L∞ epsilon above 1', () => ({ runId: trained.id, epsilons: [2] }), /^epsilons: 2 exceeds 1/],
    ['a repeated epsilon', () => ({ runId: trained.id, epsilons: [0.1, 0.1] }), /^All epsilons's elements must be unique/],
    ['an epsilon that is a string', () => ({ runId: trained.id, epsilons: ['0.1'] }), /^each value in epsilons must be a number/],
    ['an unknown norm', () => ({ runId: trained.id, epsilons: [0.1], norm: 'l3' }), /^norm must be one of/],
    ['an unknown suite', () => ({ runId: trained.id, epsilons: [0.1], suite: 'strongest' }), /^suite must be one of/],
    ['a custom suite without attacks', () => ({ runId: trained.id, epsilons: [0.1], suite: 'custom' }), /^attacks is required when suite is "custom"/],
    ['attacks with a fixed suite', () => ({ runId: trained.id, epsilons: [0.1], attacks: ['pgd'] }), /^attacks may only be given with suite "custom"/],
    [
      'an unknown attack',
      () => ({ runId: trained.id, epsilons: [0.1], suite: 'custom', attacks: ['pgd', 'hopskip'] }),
      /^each value in attacks must be one of/,
    ],
    ['Square under L2', () => ({ runId: trained.id, epsilons: [0.5], norm: 'l2', suite: 'custom', attacks: ['square'] }), /^attacks: square is an L∞ attack/],
    ['zero PGD steps', () => ({ runId: trained.id, epsilons: [0.1], params: { pgd: { steps: 0 } } }), /^params\.pgd\.steps must not be less than 1/],
    [
      'an unknown attack parameter',
      () => ({ runId: trained.id, epsilons: [0.1], params: { square: { budget: 5 } } }),
      /^params\.square\.property budget should not exist/,
    ],
    ['zero examples', () => ({ runId: trained.id, epsilons: [0.1], examples: 0 }), /^examples must not be less than 1/],
    ['an unknown field', () => ({ runId: trained.id, epsilons: [0.1], defence: 'jpeg' }), /^property defence should not exist/],
    [
      'an unknown preprocessing step',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [{ kind: 'blur' }] } }),
      /^defense\.preprocessing\.0\.kind must be one of/,
    ],
    [
      'a step missing its parameter',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [{ kind: 'bit-depth' }] } }),
      /^defense\.preprocessing\.0: bit-depth needs bits/,
    ],
    [
      "a step with another step's parameter",
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [{ kind: 'jpeg', quality: 75, bits: 3 }] } }),
      /^defense\.preprocessing\.0: jpeg takes no bits/,
    ],
    [
      '9 bits',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [{ kind: 'bit-depth', bits: 9 }] } }),
      /^defense\.preprocessing\.0\.bits must not be greater than 8/,
    ],
    [
      'a logits squash at temperature 1',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [], logits: { kind: 'saturate-logits', temperature: 1 } } }),
      /^defense\.logits\.temperature must not be greater than 0\.999/,
    ],
    [
      'a temperature on the softmax-output view',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [], logits: { kind: 'softmax-output', temperature: 0.5 } } }),
      /^defense\.logits\.temperature applies to saturate-logits only/,
    ],
    [
      'resize bounds the wrong way round',
      () => ({ runId: trained.id, epsilons: [0.1], defense: { preprocessing: [{ kind: 'random-resize-pad', minSize: 30, maxSize: 26 }] } }),
      /^defense\.preprocessing\.0: minSize must not exceed maxSize/,
    ],
    ['detectors that are not a list', () => ({ runId: trained.id, epsilons: [0.1], detectors: { kind: 'confidence' } }), /^detectors must be an array/],
    [
      'four detectors',
      () => ({
        runId: trained.id,
        epsilons: [0.1],
        detectors: [{ kind: 'confidence' }, { kind: 'mahalanobis' }, { kind: 'feature-squeezing' }, { kind: 'confidence', fpr: 0.1 }],
      }),
      /^detectors must contain no more than 3 elements/,
    ],
    [
      'an unknown detector',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'knn' }] }),
      /^detectors\.0\.kind must be one of the following values: confidence, feature-squeezing, mahalanobis/,
    ],
    [
      'a zero false-positive rate',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence', fpr: 0 }] }),
      /^detectors\.0\.fpr must be a positive number/,
    ],
    [
      'a false-positive rate above 0.5',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'mahalanobis' }, { kind: 'confidence', fpr: 0.6 }] }),
      /^detectors\.1\.fpr must not be greater than 0\.5/,
    ],
    [
      'the same detector kind twice',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence' }, { kind: 'confidence', fpr: 0.1 }] }),
      /^detectors: each kind at most once \(confidence appears twice\)/,
    ],
    [
      'squeezers on a confidence detector',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence', squeezers: [{ kind: 'bit-depth', bits: 1 }] }] }),
      /^detectors\.0: confidence takes no squeezers/,
    ],
    [
      'shrinkage on a squeezing detector',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'feature-squeezing', shrinkage: 0.1 }] }),
      /^detectors\.0: feature-squeezing takes no shrinkage/,
    ],
    [
      'a random squeezer',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'gaussian-noise', sigma: 0.1 }] }] }),
      /^detectors\.0\.squeezers\.0: gaussian-noise is random; a squeezer must be deterministic/,
    ],
    [
      'a squeezer missing its parameter',
      () => ({
        runId: trained.id,
        epsilons: [0.1],
        detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'median-filter', size: 2 }, { kind: 'bit-depth' }] }],
      }),
      /^detectors\.0\.squeezers\.1: bit-depth needs bits/,
    ],
    [
      'an unknown squeezer',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'blur' }] }] }),
      /^detectors\.0\.squeezers\.0\.kind must be one of/,
    ],
    [
      'shrinkage above 1',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'mahalanobis', shrinkage: 2 }] }),
      /^detectors\.0\.shrinkage must not be greater than 1/,
    ],
    [
      'a feature layer that is no layer name',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'mahalanobis', featureLayer: 'dense 1; drop' }] }),
      /^detectors\.0\.featureLayer must be a layer name/,
    ],
    [
      'an unknown detector option',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'mahalanobis', k: 5 }] }),
      /^detectors\.0\.property k should not exist/,
    ],
    [
      '9 validation examples',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence' }], validationExamples: 9 }),
      /^validationExamples must not be less than 10/,
    ],
    [
      'validation examples without detectors',
      () => ({ runId: trained.id, epsilons: [0.1], validationExamples: 100 }),
      /^validationExamples applies only with detectors/,
    ],
    [
      'detector-aware settings without detectors',
      () => ({ runId: trained.id, epsilons: [0.1], detectorAware: { steps: 10 } }),
      /^detectorAware applies only with detectors/,
    ],
    [
      'a detector-aware attack of zero steps',
      () => ({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence' }], detectorAware: { steps: 0 } }),
      /^detectorAware\.steps must not be less than 1/,
    ],
  ];

  it.each(cases)('rejects %s with a 400 naming the field, storing nothing', async (_name, body, message) => {
    const before = await evaluationCount();
    const res = await http().post('/evaluations').send(body()).expect(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    expect(await evaluationCount()).toBe(before);
  });

  it('stores a defense with exactly its parameters, random steps seeded from the evaluation', async () => {
    const res = await http()
      .post('/evaluations')
      .send({
        runId: trained.id,
        epsilons: [0.1],
        seed: 4,
        defense: {
          preprocessing: [
            { kind: 'bit-depth', bits: 3 },
            { kind: 'gaussian-noise', sigma: 0.05 },
          ],
        },
      })
      .expect(201);
    expect(res.body.spec.defense).toEqual({
      preprocessing: [
        { kind: 'bit-depth', bits: 3 },
        { kind: 'gaussian-noise', sigma: 0.05, seed: 4 },
      ],
    });
  });

  it('stores detectors with every option resolved: defaults filled, squeezers checked like defense steps', async () => {
    const res = await http()
      .post('/evaluations')
      .send({
        runId: trained.id,
        epsilons: [0.1],
        detectors: [{ kind: 'confidence' }, { kind: 'feature-squeezing', fpr: 0.1 }, { kind: 'mahalanobis', featureLayer: 'dense_1', shrinkage: 0.1 }],
        detectorAware: { steps: 20, detectorWeight: 2 },
      })
      .expect(201);
    expect(res.body.spec).toMatchObject({
      detectors: [
        { kind: 'confidence', fpr: 0.05 },
        {
          kind: 'feature-squeezing',
          fpr: 0.1,
          squeezers: [
            { kind: 'bit-depth', bits: 1 },
            { kind: 'median-filter', size: 2 },
          ],
        },
        { kind: 'mahalanobis', fpr: 0.05, featureLayer: 'dense_1', shrinkage: 0.1 },
      ],
      validationExamples: 1000,
      detectorAware: { steps: 20, confidence: 1, detectorWeight: 2 },
    });
    expect(res.body.spec.detectorAware).not.toHaveProperty('stepSize');
    const custom = await http()
      .post('/evaluations')
      .send({
        runId: trained.id,
        epsilons: [0.1],
        detectors: [{ kind: 'feature-squeezing', squeezers: [{ kind: 'jpeg', quality: 50 }] }, { kind: 'mahalanobis' }],
        validationExamples: 200,
      })
      .expect(201);
    expect(custom.body.spec).toMatchObject({
      detectors: [
        { kind: 'feature-squeezing', fpr: 0.05, squeezers: [{ kind: 'jpeg', quality: 50 }] },
        { kind: 'mahalanobis', fpr: 0.05, shrinkage: 0.01 },
      ],
      validationExamples: 200,
      detectorAware: { steps: 50, confidence: 1, detectorWeight: 1 },
    });
    expect(custom.body.spec.detectors[1]).not.toHaveProperty('featureLayer');
  });

  describe('POST /evaluations/:id/predict', () => {
    const image = (value = 0.5) => new Array<number>(784).fill(value);
    let withDetectors: Run;
    let withoutDetectors: Run;
    let queuedWithDetectors: string;

    beforeAll(async () => {
      const created = (
        await http()
          .post('/evaluations')
          .send({ runId: trained.id, epsilons: [0.1], detectors: [{ kind: 'confidence' }, { kind: 'feature-squeezing' }] })
          .expect(201)
      ).body;
      queuedWithDetectors = created.id;
      const spec = created.spec as EvaluationRunSpec;
      const runs = dataSource.getRepository(Run);
      withDetectors = await runs.save({ kind: 'evaluation', status: 'succeeded', spec, parentRunId: trained.id });
      const { detectors: _d, validationExamples: _v, detectorAware: _a, ...bare } = spec;
      withoutDetectors = await runs.save({ kind: 'evaluation', status: 'succeeded', spec: bare, parentRunId: trained.id });
    });

    const predictCases: [string, () => string, () => Record<string, unknown>, RegExp][] = [
      ['no inputs', () => withDetectors.id, () => ({}), /^inputs must be an array/],
      ['an empty batch', () => withDetectors.id, () => ({ inputs: [] }), /^inputs must contain at least 1 elements/],
      ['65 inputs', () => withDetectors.id, () => ({ inputs: Array.from({ length: 65 }, () => [0.5]) }), /^inputs must contain no more than 64 elements/],
      ['an input that is not a list', () => withDetectors.id, () => ({ inputs: [image(), 0.5] }), /^inputs\.1 must be an array of numbers/],
      [
        'a pixel above 1',
        () => withDetectors.id,
        () => ({ inputs: [image(), [...image().slice(0, 100), 1.5, ...image().slice(101)]] }),
        /^inputs\.1\.100 must be a number in \[0, 1\], got 1\.5/,
      ],
      [
        'a pixel that is a string',
        () => withDetectors.id,
        () => ({ inputs: [['0.5', ...image().slice(1)]] }),
        /^inputs\.0\.0 must be a number in \[0, 1\], got "0\.5"/,
      ],
      [
        'an image of the wrong size',
        () => withDetectors.id,
        () => ({ inputs: [image(), image().slice(1)] }),
        /^inputs\.1 has 783 numbers; a mnist image flattens to 784 \(28×28×1\)/,
      ],
      ['an unknown detector', () => withDetectors.id, () => ({ inputs: [image()], detector: 'knn' }), /^detector must be one of the following values/],
      [
        'a detector the evaluation did not fit',
        () => withDetectors.id,
        () => ({ inputs: [image()], detector: 'mahalanobis' }),
        /^detector: evaluation .* has no mahalanobis detector \(it has confidence, feature-squeezing\)/,
      ],
      ['an unknown field', () => withDetectors.id, () => ({ inputs: [image()], labels: [3] }), /^property labels should not exist/],
    ];

    it.each(predictCases)('rejects %s with a 400 naming the field, enqueueing nothing', async (_name, id, body, message) => {
      const res = await http().post(`/evaluations/${id()}/predict`).send(body()).expect(400);
      expect(res.body.message).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
      expect((await queue.getJobs(['waiting'])).filter((j) => j.name === 'predict')).toEqual([]);
    });

    it('answers 404 for an unknown or non-evaluation id, and 409 without detectors or before success', async () => {
      await http()
        .post('/evaluations/00000000-0000-4000-8000-000000000000/predict')
        .send({ inputs: [image()] })
        .expect(404);
      await http()
        .post(`/evaluations/${trained.id}/predict`)
        .send({ inputs: [image()] })
        .expect(404);
      await http()
        .post('/evaluations/not-a-uuid/predict')
        .send({ inputs: [image()] })
        .expect(404);
      const none = await http()
        .post(`/evaluations/${withoutDetectors.id}/predict`)
        .send({ inputs: [image()] })
        .expect(409);
      expect(none.body.message).toMatch(/has no detectors/);
      const queued = await http()
        .post(`/evaluations/${queuedWithDetectors}/predict`)
        .send({ inputs: [image()] })
        .expect(409);
      expect(queued.body.message).toMatch(/is queued; predictions need a succeeded evaluation/);
    });

    it('takes a full batch of 64 images (far above BODY_LIMIT_BYTES), waits for a worker, and with none answers 504 and withdraws the job', async () => {
      const inputs = Array.from({ length: 64 }, (_, i) => image(0.123456789 + i / 1000));
      expect(JSON.stringify({ inputs }).length).toBeGreaterThan(500_000);
      const started = Date.now();
      const res = await http().post(`/evaluations/${withDetectors.id}/predict`).send({ inputs, detector: 'feature-squeezing' }).expect(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      expect(res.body.message).toMatch(/no worker answered within 1500 ms \(PREDICT_TIMEOUT_MS\)/);
      expect((await queue.getJobs(['waiting', 'prioritized', 'delayed'])).filter((j) => j.name === 'predict')).toEqual([]);
    });
  });

  it('refuses to evaluate an evaluation, or a run that has no checkpoint yet', async () => {
    const evaluation = (
      await http()
        .post('/evaluations')
        .send({ runId: trained.id, epsilons: [0.1] })
        .expect(201)
    ).body;
    const res = await http()
      .post('/evaluations')
      .send({ runId: evaluation.id, epsilons: [0.1] })
      .expect(400);
    expect(res.body.message[0]).toMatch(/is a evaluation run, not a trained model/);
    const fresh = await dataSource.getRepository(Run).save({ kind: 'train', status: 'queued', spec: { ...trainingSpec, kind: 'train' } });
    const none = await http()
      .post('/evaluations')
      .send({ runId: fresh.id, epsilons: [0.1] })
      .expect(400);
    expect(none.body.message[0]).toMatch(/has no checkpoint yet/);
  });

  it('returns an evaluation with its (still empty) curve, lists it under its model, and 404s for other ids', async () => {
    const created = (
      await http()
        .post('/evaluations')
        .send({ runId: trained.id, epsilons: [0.1] })
        .expect(201)
    ).body;
    const got = (await http().get(`/evaluations/${created.id}`).expect(200)).body;
    expect(got).toMatchObject({ run: { id: created.id }, curve: [], adaptiveCurve: null, flags: null, examples: [], detection: null });
    const listed = (await http().get('/evaluations').query({ runId: trained.id }).expect(200)).body.items;
    expect(listed.map((e: { run: { id: string } }) => e.run.id)).toContain(created.id);
    expect(listed.every((e: { run: Run }) => e.run.parentRunId === trained.id)).toBe(true);
    await http().get(`/evaluations/${trained.id}`).expect(404);
    await http().get('/evaluations/00000000-0000-4000-8000-000000000000').expect(404);
    await http().get('/evaluations').query({ runId: 'x' }).expect(400);
  });

  it('cancels a queued evaluation: its job leaves the evaluation queue', async () => {
    const created = (
      await http()
        .post('/evaluations')
        .send({ runId: trained.id, epsilons: [0.1] })
        .expect(201)
    ).body;
    expect(await queue.getJob(created.id)).toBeDefined();
    expect((await http().post(`/runs/${created.id}/cancel`).expect(202)).body.status).toBe('cancelled');
    expect(await queue.getJob(created.id)).toBeUndefined();
  });
});
