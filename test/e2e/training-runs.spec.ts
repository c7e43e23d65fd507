import { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions, Run } from '../../libs/database/src';
import { TRAINING_QUEUE, redisConnectionOptions } from '../../libs/queue/src/index';
import { TrainingRunSpec } from '../../libs/spec/src';
import { loadDataset } from '../../libs/data/src/load-dataset';
import { startTestCluster, TestCluster } from '../support/cluster';
import { ManagedProcess, assertBuilt, waitFor } from '../support/processes';

jest.setTimeout(300_000);

/**
 * The whole path through real processes: HTTP → Postgres → BullMQ/Redis → worker (sandboxed
 * child) → real training on the MNIST digits → metrics and checkpoints in Postgres.
 */
describe('training runs end to end (API + worker processes)', () => {
  let cluster: TestCluster;
  let api: ManagedProcess;
  let worker: ManagedProcess;
  let base: string;
  let dataSource: DataSource;
  let queue: Queue;
  let env: Record<string, string>;

  const call: TestCluster['call'] = (method, path, body) => cluster.call(method, path, body);
  const getRun = async (id: string): Promise<Run> => (await call('GET', `/runs/${id}`)).body;
  const waitForStatus = (id: string, statuses: string[], timeoutMs: number) =>
    waitFor(
      `run ${id} to reach ${statuses.join('/')}`,
      async () => {
        const run = await getRun(id);
        return statuses.includes(run.status) && run;
      },
      timeoutMs,
      500,
    );

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e', {
      CANCEL_POLL_MS: '200',
      // Lets one test see what a run on a dataset missing from the worker's disk becomes.
      FASHION_MNIST_DIR: '/nonexistent/fashion-mnist',
    });
    ({ api, worker, base, env } = cluster);
    dataSource = await new DataSource(dataSourceOptions(env.DATABASE_URL, 'bulwark-e2e-test')).initialize();
    queue = new Queue(TRAINING_QUEUE, { connection: redisConnectionOptions(env.REDIS_URL), prefix: env.QUEUE_PREFIX });
  });

  afterAll(async () => {
    await queue?.close();
    await dataSource?.destroy();
    await api?.stop();
    await worker?.stop();
  });

  afterEach(() => {
    // On failure, the processes' logs are the first thing to read.
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${api.output().slice(-4000)}\n--- worker ---\n${worker.output().slice(-8000)}`);
    }
  });

  /** The tests of one trained model, trained before them whichever of them runs. */
  describe('an MLP adversarially trained with FGSM', () => {
    let adversariallyTrained: string;

    beforeAll(async () => {
      const submitted = await call('POST', '/runs', {
        kind: 'adversarial-training',
        dataset: 'mnist',
        model: 'mlp',
        attack: { name: 'fgsm', epsilon: 0.1 },
        epochs: 2,
        batchSize: 64,
        seed: 1,
      });
      expect(submitted.status).toBe(201);
      adversariallyTrained = (await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 240_000)).id;
    });

    it('trains to success, writing metrics and checkpoints every epoch', async () => {
      const run = await getRun(adversariallyTrained);
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(run.backend).toMatchObject({ name: 'wasm', threads: 1, tfjsVersion: expect.stringMatching(/^4\./) });
      expect(run.progress).toBe(1);
      expect(run.attempts).toBe(1);
      expect(new Date(run.finishedAt!).getTime()).toBeGreaterThan(new Date(run.startedAt!).getTime());

      const metrics = (await call('GET', `/runs/${run.id}/metrics`)).body.items as { key: string; step: number; value: number }[];
      const series = (key: string) => metrics.filter((m) => m.key === key).map((m) => [m.step, m.value]);
      expect(series('train_loss').map(([step]) => step)).toEqual([1, 2]);
      expect(series('test_examples')).toEqual([
        [1, 2000],
        [2, 2000],
      ]);
      const clean = series('test_clean_accuracy');
      const fgsm = series('test_fgsm_accuracy');
      expect(clean).toHaveLength(2);
      expect(clean[1][1]).toBeGreaterThan(0.85);
      // FGSM training at ε=0.1 on MNIST: robust accuracy far above what a plain MLP keeps (~0.1–0.3).
      expect(fgsm[1][1]).toBeGreaterThan(0.5);
      expect(fgsm[1][1]).toBeLessThanOrEqual(clean[1][1]);
      const filtered = (await call('GET', `/runs/${run.id}/metrics?key=train_loss`)).body.items;
      expect(filtered.map((m: { key: string }) => m.key)).toEqual(['train_loss', 'train_loss']);

      const checkpoints = (await call('GET', `/runs/${run.id}/checkpoints`)).body.items;
      expect(checkpoints.map((c: { epoch: number }) => c.epoch)).toEqual([1, 2]);
      const last = checkpoints[1];
      const bytes = Buffer.from(await (await fetch(`${base}/runs/${run.id}/checkpoints/${last.id}`, { headers: cluster.auth })).arrayBuffer());
      expect(bytes.length).toBe(last.sizeBytes);
      // Weights + Adam moments of a 270k-parameter MLP: well over 3 MB of float32.
      expect(bytes.length).toBeGreaterThan(3_000_000);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(last.sha256);
    });

    it('evaluates that model through the API: a robustness curve per attack, validity flags and a gallery', async () => {
      const epsilons = [0, 0.05, 0.1, 0.2, 0.3];
      const submitted = await call('POST', '/evaluations', {
        runId: adversariallyTrained,
        epsilons,
        suite: 'standard',
        examples: 100,
        seed: 5,
        galleryPerEpsilon: 2,
        params: { pgd: { steps: 10 }, apgd: { steps: 20 }, apgdTargeted: { steps: 20, targetClasses: 2 }, square: { queries: 100 } },
      });
      expect(submitted.status).toBe(201);
      expect(submitted.body).toMatchObject({ kind: 'evaluation', status: 'queued', parentRunId: adversariallyTrained });
      expect(submitted.body.spec).toMatchObject({ checkpointEpoch: 2, norm: 'linf', attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square'], examples: 100 });

      await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 240_000);
      const evaluation = (await call('GET', `/evaluations/${submitted.body.id}`)).body;
      expect(evaluation.run.status).toBe('succeeded');
      expect(evaluation.run.backend).toMatchObject({ name: 'wasm' });
      expect(evaluation.run.result).toMatchObject({ n: 100, libraryVersion: { attacks: expect.any(String), tfjs: expect.any(String) } });
      expect(evaluation.curve.map((p: { epsilon: number }) => p.epsilon)).toEqual(epsilons);
      for (const point of evaluation.curve) {
        expect(point.n).toBe(100);
        const robust = point.robustAccuracy;
        expect(Object.keys(robust).sort()).toEqual(['apgd-ce', 'apgd-t', 'fgsm', 'pgd', 'square', 'suite']);
        for (const attack of ['fgsm', 'pgd', 'apgd-ce']) expect(robust.suite).toBeLessThanOrEqual(robust[attack]);
      }
      expect(evaluation.curve[0].robustAccuracy.suite).toBe(evaluation.curve[0].cleanAccuracy);
      const suiteCurve = evaluation.curve.map((p: { robustAccuracy: { suite: number } }) => p.robustAccuracy.suite);
      expect(suiteCurve[4]).toBeLessThan(suiteCurve[0]);
      expect(evaluation.flags.map((f: { flag: string }) => f.flag)).toEqual(expect.arrayContaining(['zero-or-nan-gradients', 'robustness-rose-with-epsilon']));
      expect(evaluation.examples.length).toBe(2 * epsilons.length);
      expect(Buffer.from(evaluation.examples[0].clean, 'base64')).toHaveLength(784);

      const listed = (await call('GET', `/evaluations?runId=${adversariallyTrained}`)).body.items;
      expect(listed.map((e: { run: { id: string } }) => e.run.id)).toContain(submitted.body.id);
    });

    it('evaluates that model behind a gradient-hiding defense naively and adaptively: the flags fire on the naive run and BPDA undoes it', async () => {
      const submitted = await call('POST', '/evaluations', {
        runId: adversariallyTrained,
        epsilons: [0.1, 0.3],
        suite: 'quick',
        examples: 60,
        seed: 2,
        galleryPerEpsilon: 1,
        defense: { preprocessing: [{ kind: 'quantise-inputs', levels: 2 }] },
      });
      expect(submitted.status).toBe(201);
      await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 240_000);
      const evaluation = (await call('GET', `/evaluations/${submitted.body.id}`)).body;
      expect(evaluation.run.status).toBe('succeeded');
      expect(evaluation.run.result.defense).toMatchObject({ masksGradients: true, needsAdaptiveEvaluation: true });
      const naiveRaised = evaluation.run.result.flags.filter((f: { raised: boolean }) => f.raised).map((f: { flag: string }) => f.flag);
      expect(naiveRaised).toContain('zero-or-nan-gradients');
      expect(evaluation.run.result.adaptiveFlags.find((f: { flag: string }) => f.flag === 'zero-or-nan-gradients').raised).toBe(false);
      const naive03 = evaluation.curve[1].robustAccuracy.suite;
      const adaptive03 = evaluation.adaptiveCurve[1].robustAccuracy.suite;
      expect(adaptive03).toBeLessThan(naive03);
      expect(evaluation.examples.map((e: { view: string }) => e.view).sort()).toEqual(['adaptive', 'adaptive', 'naive', 'naive']);
    });

    it('evaluates that model with all three detectors, then serves the stack: classes for clean digits, "rejected as adversarial" for noise', async () => {
      const kinds = ['confidence', 'feature-squeezing', 'mahalanobis'];
      const submitted = await call('POST', '/evaluations', {
        runId: adversariallyTrained,
        epsilons: [0, 0.1],
        suite: 'quick',
        examples: 40,
        seed: 7,
        galleryPerEpsilon: 0,
        params: { pgd: { steps: 10 } },
        detectors: kinds.map((kind) => ({ kind })),
        validationExamples: 100,
        detectorAware: { steps: 10 },
      });
      expect(submitted.status).toBe(201);
      await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 240_000);
      const evaluation = (await call('GET', `/evaluations/${submitted.body.id}`)).body;
      expect(evaluation.run.status).toBe('succeeded');
      const detection = evaluation.detection;
      expect(detection).toEqual(evaluation.run.result.detection);
      expect(detection.validation).toEqual({ n: 100, split: 'train', seed: 7 });
      expect(detection.detectors.map((d: { detector: { kind: string } }) => d.detector.kind)).toEqual(kinds);
      // Mahalanobis statistics: the training examples after the validation subset in the same seeded shuffle.
      expect(detection.detectors[2].detector.params.statistics).toEqual({ name: 'mnist-digits/train[seed 7, 100:2100]', n: 2000 });
      const fraction = (v: number | null) => v === null || (v >= 0 && v <= 1);
      for (const { detector, points } of detection.detectors) {
        expect(detector).toMatchObject({ targetFpr: 0.05, validation: { name: 'mnist-digits/train[seed 7, 100]', n: 100 } });
        expect(detector.validationFpr).toBeLessThanOrEqual(0.05);
        // Only ε > 0: at ε = 0 there is nothing to detect.
        expect(points.map((p: { epsilon: number; n: number }) => [p.epsilon, p.n])).toEqual([[0.1, 40]]);
        const [point] = points;
        expect(point.cleanCorrect).toBeLessThanOrEqual(40);
        expect(point.cleanAccepted).toBeLessThanOrEqual(point.cleanCorrect);
        expect(point.cleanAccepted).toBeGreaterThan(30);
        expect(point.outcomes.map((o: { attack: string }) => o.attack)).toEqual(['fgsm', 'pgd', 'detector-aware-pgd']);
        for (const o of point.outcomes) {
          expect(fraction(o.detectionRate) && fraction(o.rocAuc)).toBe(true);
          expect(o.detected).toBeLessThanOrEqual(o.fooled);
          expect(o.stackRobust).toBeLessThanOrEqual(point.cleanAccepted);
        }
        expect(point.worstCase.stackRobust).toBeLessThanOrEqual(Math.min(...point.outcomes.map((o: { stackRobust: number }) => o.stackRobust)));
        type Outcome = { attack: string; detectionRate: number | null; stackRobust: number };
        const rates = point.outcomes.map((o: Outcome) => `${o.attack} ${String(o.detectionRate?.toFixed(2))}/${o.stackRobust}`);
        const summary = `detection rate/stack-robust ${rates.join(', ')}; worst case ${point.worstCase.stackRobust}`;
        console.log(`${detector.kind} at ε 0.1 (n 40, clean accepted ${point.cleanAccepted}): ${summary}`);
      }

      // The trained run's own test split (seed 1, 20% held out): its first digits, then two inputs no digit looks like.
      const { test } = loadDataset('mnist', { testFraction: 0.2, seed: 1 });
      const digits = Array.from({ length: 8 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
      let state = 12345;
      const noise = Array.from({ length: 784 }, () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const gray = new Array<number>(784).fill(0.5);
      const thresholds = Object.fromEntries(
        detection.detectors.map((d: { detector: { kind: string; threshold: number } }) => [d.detector.kind, d.detector.threshold]),
      );
      type Answer = { rejected: boolean; label?: number; className?: string; reason?: string; detector?: string; score: number };
      const answers: Record<string, Answer[]> = {};
      for (const kind of kinds) {
        const answer = await call('POST', `/evaluations/${submitted.body.id}/predict`, { inputs: [...digits, noise, gray], detector: kind });
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ evaluationId: submitted.body.id, detector: { kind, targetFpr: 0.05 } });
        // Refitted, not stored: the same training examples and seeds give exactly the evaluation's threshold.
        const threshold = answer.body.detector.threshold;
        expect(threshold).toBe(thresholds[kind]);
        answers[kind] = answer.body.predictions;
        expect(answers[kind]).toHaveLength(10);
        for (const p of answers[kind]) {
          if (p.rejected) expect(p).toEqual({ rejected: true, reason: 'rejected as adversarial', detector: kind, score: expect.any(Number) });
          else expect(p).toEqual({ rejected: false, label: expect.any(Number), className: String(p.label), score: expect.any(Number) });
          // Rejected exactly when the detector's score is above its threshold.
          expect(p.score > threshold).toBe(p.rejected);
        }
      }
      // Measured on this model: noise and flat gray are far from every class's features (scores
      // ~20× the threshold), and flat gray changes a lot under 1-bit squeezing (~2×). The FGSM-trained
      // MLP calls the noise a 5 with high confidence: confidence thresholding lets both through.
      expect(answers.mahalanobis.slice(8).map((p) => p.rejected)).toEqual([true, true]);
      expect(answers['feature-squeezing'][9].rejected).toBe(true);
      const truth = Array.from(test.labels.subarray(0, 8));
      const acceptedAndRight = answers.mahalanobis.slice(0, 8).filter((p, i) => !p.rejected && p.label === truth[i]).length;
      expect(acceptedAndRight).toBeGreaterThanOrEqual(6);
      const verdicts = kinds.map((k) => `${k} ${JSON.stringify(answers[k].map((p) => (p.rejected ? 'rejected' : p.label)))}`);
      console.log(`predict, clean digits ${JSON.stringify(truth)}: ${verdicts.join('; ')}`);

      // A second request is served by the stack the first one fitted: the same answers, no refit.
      const again = await call('POST', `/evaluations/${submitted.body.id}/predict`, { inputs: [...digits, noise, gray], detector: 'mahalanobis' });
      expect(again.status).toBe(200);
      expect(again.body.predictions).toEqual(answers.mahalanobis);
      expect(worker.output()).toContain(`predict on evaluation ${submitted.body.id}: mahalanobis stack reused from an earlier request`);
      // Bad input is still refused, naming the input.
      const bad = await call('POST', `/evaluations/${submitted.body.id}/predict`, { inputs: [digits[0].slice(1)], detector: 'mahalanobis' });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toEqual([expect.stringMatching(/^inputs\.0 has 783 numbers/)]);
    });

    it('fine-tunes that model from its checkpoint with PGD adversarial training, SGD, a piecewise schedule and the overfitting guard', async () => {
      const checkpoints = (await call('GET', `/runs/${adversariallyTrained}/checkpoints`)).body.items;
      const submitted = await call('POST', '/runs', {
        kind: 'adversarial-training',
        dataset: 'mnist',
        model: 'mlp',
        attack: { name: 'fgsm', epsilon: 0.1 },
        epochs: 2,
        batchSize: 128,
        seed: 6,
        method: { name: 'pgd', steps: 3 },
        optimizer: { name: 'sgd', momentum: 0.9 },
        learningRate: 0.01,
        schedule: { kind: 'piecewise', milestones: [1], factor: 0.1 },
        overfittingGuard: { heldOut: 200 },
        fromCheckpoint: checkpoints[1].id,
      });
      expect(submitted.status).toBe(201);
      expect(submitted.body).toMatchObject({ parentRunId: adversariallyTrained, parentCheckpointId: checkpoints[1].id });
      expect(submitted.body.spec).toMatchObject({
        method: { name: 'pgd', epsilon: 0.1, steps: 3 },
        optimizer: { name: 'sgd', momentum: 0.9, nesterov: false },
        schedule: { kind: 'piecewise', milestones: [1], factor: 0.1 },
        overfittingGuard: { heldOut: 200, maxDrop: 0.2, onCollapse: 'stop' },
        initialCheckpointId: checkpoints[1].id,
      });
      const run = await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 240_000);
      expect(run.error).toBeNull();
      expect(worker.output()).toContain(`run ${run.id}: starting from checkpoint ${checkpoints[1].id}`);
      const metrics = (await call('GET', `/runs/${run.id}/metrics`)).body.items as { key: string; step: number; value: number }[];
      const series = (key: string) => metrics.filter((m) => m.key === key).map((m) => m.value);
      expect(series('learning_rate')).toEqual([0.01, expect.closeTo(0.001, 9)]);
      expect(series('train_epsilon')).toEqual([0.1, 0.1]);
      expect(series('guard_pgd_accuracy')).toHaveLength(2);
      expect(series('guard_fgsm_accuracy')).toHaveLength(2);
      // Started from a trained model: already accurate after the first fine-tuning epoch.
      expect(series('test_clean_accuracy')[0]).toBeGreaterThan(0.85);
    });

    it('resumes a run carried over to another database from its checkpoint, ending exactly as the uninterrupted run did', async () => {
      // The first test's run, as a report store would carry it: spec, epoch-1 checkpoint, metrics.
      const original = await getRun(adversariallyTrained);
      const [first] = (await call('GET', `/runs/${original.id}/checkpoints`)).body.items.filter((c: { epoch: number }) => c.epoch === 1);
      const data = Buffer.from(await (await fetch(`${base}/runs/${original.id}/checkpoints/${first.id}`, { headers: cluster.auth })).arrayBuffer());
      const metrics = (await call('GET', `/runs/${original.id}/metrics`)).body.items as Array<{ key: string; step: number; value: number }>;
      // The stored spec is a valid POST /runs body: every default it filled in is a field of its own.
      const resumed = await call('POST', '/runs/resume', {
        run: original.spec,
        checkpoint: { epoch: 1, data: data.toString('base64'), sha256: first.sha256, format: first.format },
        // Only the points up to the checkpoint travel: later epochs run again (the API refuses points past it).
        metrics: metrics.filter(({ step }) => step <= 1).map(({ key, step, value }) => ({ key, step, value })),
      });
      expect(resumed.status).toBe(201);
      const run = await waitForStatus(resumed.body.id, ['succeeded', 'failed'], 120_000);
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(worker.output()).toContain(`run ${run.id}: resuming after epoch 1 from checkpoint ${first.sha256.slice(0, 12)}`);
      // Weights, optimizer state and RNG travel in the checkpoint: epoch 2 is the original's, to the bit.
      const points = (await call('GET', `/runs/${run.id}/metrics`)).body.items as Array<{ key: string; step: number; value: number }>;
      const at = (items: typeof points, key: string, step: number) => items.find((p) => p.key === key && p.step === step)?.value;
      for (const key of ['train_loss', 'test_clean_accuracy', 'test_fgsm_accuracy']) {
        expect([key, at(points, key, 1), at(points, key, 2)]).toEqual([key, at(metrics, key, 1), at(metrics, key, 2)]);
      }
      const [resumedCheckpoint] = (await call('GET', `/runs/${run.id}/checkpoints`)).body.items.filter((c: { epoch: number }) => c.epoch === 2);
      const [originalCheckpoint] = (await call('GET', `/runs/${original.id}/checkpoints`)).body.items.filter((c: { epoch: number }) => c.epoch === 2);
      expect(resumedCheckpoint.sha256).toBe(originalCheckpoint.sha256);
    });
  });

  it('distils: a teacher trained at T = 20, then a student on its soft labels, with the teacher as parent', async () => {
    const common = { dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 128, seed: 8 };
    const teacherRun = await waitForStatus(
      (await call('POST', '/runs', { ...common, kind: 'train', temperature: 20 })).body.id,
      ['succeeded', 'failed'],
      120_000,
    );
    expect(teacherRun.status).toBe('succeeded');
    const teacherCheckpoint = (await call('GET', `/runs/${teacherRun.id}/checkpoints`)).body.items[0];
    const submitted = await call('POST', '/runs', { ...common, kind: 'distillation', temperature: 20, teacherCheckpoint: teacherCheckpoint.id });
    expect(submitted.status).toBe(201);
    const student = await waitForStatus(submitted.body.id, ['succeeded', 'failed'], 120_000);
    expect(student.error).toBeNull();
    expect(student).toMatchObject({ status: 'succeeded', parentRunId: teacherRun.id, parentCheckpointId: teacherCheckpoint.id });
    // One epoch on soft labels at T = 20 (measured: 0.78): far above chance (0.1), it learnt from the teacher.
    const clean = (await call('GET', `/runs/${student.id}/metrics?key=test_clean_accuracy`)).body.items;
    expect(clean[0].value).toBeGreaterThan(0.5);

    // Its evaluation reads it through its softmax (naive) and through its logits (adaptive).
    // Logits ~T times too large saturate cross-entropy too: the margin losses of PGD (C&W's, the
    // default for a distilled model) and APGD-T (DLR) and the score-based Square are what break
    // it (Carlini & Wagner), so the standard suite is used.
    const evaluation = await call('POST', '/evaluations', {
      runId: student.id,
      epsilons: [0.1, 0.2],
      suite: 'standard',
      examples: 60,
      seed: 3,
      galleryPerEpsilon: 0,
      params: { pgd: { steps: 10 }, apgd: { steps: 20 }, apgdTargeted: { steps: 20, targetClasses: 2 }, square: { queries: 100 } },
    });
    expect(evaluation.body.spec.defense).toEqual({ preprocessing: [], logits: { kind: 'softmax-output', temperature: 20 } });
    expect(evaluation.body.spec.params.pgd).toEqual({ steps: 10, stepSizeFactor: 2.5, restarts: 1, loss: 'margin' });
    await waitForStatus(evaluation.body.id, ['succeeded', 'failed'], 120_000);
    const view = (await call('GET', `/evaluations/${evaluation.body.id}`)).body;
    expect(view.run.status).toBe('succeeded');
    expect(view.adaptiveCurve).toHaveLength(2);
    for (const [i, point] of view.adaptiveCurve.entries()) expect(point.robustAccuracy.suite).toBeLessThanOrEqual(view.curve[i].robustAccuracy.suite);
    // Read through its softmax the student looks robust, and the checks say not to trust that.
    expect(view.run.result.flags.some((f: { raised: boolean }) => f.raised)).toBe(true);
    expect(view.adaptiveCurve[1].robustAccuracy.suite).toBeLessThan(view.curve[1].robustAccuracy.suite);
    const suite = (curve: { robustAccuracy: { suite: number } }[]) => JSON.stringify(curve.map((p) => p.robustAccuracy.suite));
    const naiveFlags = view.run.result.flags.filter((f: { raised: boolean }) => f.raised).map((f: { flag: string }) => f.flag);
    console.log(
      `distilled student (T = 20), robust accuracy naive vs adaptive: ${suite(view.curve)} vs ${suite(view.adaptiveCurve)}; naive flags: ${naiveFlags}`,
    );
  });

  it('cancels a queued run before it starts and a running run at a batch boundary', async () => {
    const long = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 20, batchSize: 32, seed: 2 };
    const running = (await call('POST', '/runs', long)).body;
    await waitFor('the long run to make progress', async () => (await getRun(running.id)).progress > 0, 120_000);
    // The worker runs one job at a time, so this one waits in the queue.
    const queued = (await call('POST', '/runs', { ...long, seed: 3 })).body;
    expect((await getRun(queued.id)).status).toBe('queued');

    const cancelQueued = await call('POST', `/runs/${queued.id}/cancel`);
    expect(cancelQueued.status).toBe(202);
    expect(cancelQueued.body.status).toBe('cancelled');

    const requestedAt = Date.now();
    const cancelRunning = await call('POST', `/runs/${running.id}/cancel`);
    expect(cancelRunning.status).toBe(202);
    // Still running as far as the API could end it; its worker (polling every 200 ms) may have
    // ended it before the API read it back, so "cancelled" is as right, but never "queued".
    expect(['running', 'cancelled']).toContain(cancelRunning.body.status);
    expect(cancelRunning.body.startedAt).not.toBeNull();
    const stopped = await waitForStatus(running.id, ['cancelled', 'succeeded', 'failed'], 15_000);
    expect(stopped.status).toBe('cancelled');
    expect(Date.now() - requestedAt).toBeLessThan(10_000);
    expect(stopped.progress).toBeLessThan(1);

    // The queued run never started: give the worker time to pick up anything left, then look.
    await new Promise((r) => setTimeout(r, 2000));
    const never = await getRun(queued.id);
    expect(never).toMatchObject({ status: 'cancelled', startedAt: null, backend: null, attempts: 0 });
    expect((await call('GET', `/runs/${queued.id}/metrics`)).body.items).toEqual([]);
  });

  it('retries a run whose worker process died and resumes it from its newest checkpoint', async () => {
    const submitted = (await call('POST', '/runs', { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 3, batchSize: 64, seed: 4 })).body;
    await waitFor('the first checkpoint', async () => (await call('GET', `/runs/${submitted.id}/checkpoints`)).body.items.length >= 1, 120_000);
    const pids = [...worker.output().matchAll(/\[worker child (\d+)\] ready/g)].map((m) => Number(m[1]));
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of new Set(pids)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // a child from an earlier job that has already exited
      }
    }
    const run = await waitForStatus(submitted.id, ['succeeded', 'failed'], 180_000);
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(2);
    expect(worker.output()).toMatch(new RegExp(`run ${submitted.id}: resuming after epoch [12] from checkpoint`));
    const steps = (await call('GET', `/runs/${submitted.id}/metrics?key=train_loss`)).body.items.map((m: { step: number }) => m.step);
    expect(steps).toEqual([1, 2, 3]);
  });

  it('fails a run whose stored configuration cannot run, at once and with a readable error', async () => {
    // A spec the API would refuse, written straight to the table as an older or foreign client might.
    const spec = {
      kind: 'train',
      dataset: 'mnist',
      model: 'vgg-999',
      attack: { name: 'fgsm', epsilon: 0.1 },
      epochs: 1,
      batchSize: 32,
      seed: 1,
      learningRate: 0.001,
      testFraction: 0.2,
    };
    const run = await dataSource.getRepository(Run).save({ kind: 'train', status: 'queued', spec: spec as unknown as TrainingRunSpec });
    await queue.add('train', { runId: run.id }, { jobId: run.id, attempts: 3, backoff: { type: 'fixed', delay: 500 } });
    const failed = await waitForStatus(run.id, ['failed', 'succeeded'], 30_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('model must be one of the following values: mlp, cnn-small, cnn-wong, cnn-madry, lenet5, resnet-small, imported');
    const job = await queue.getJob(run.id);
    expect(job?.attemptsMade).toBe(1);
  });

  it('fails a run whose dataset files are missing on the worker, naming the directory, without retrying', async () => {
    const submitted = (await call('POST', '/runs', { kind: 'train', dataset: 'fashion-mnist', model: 'cnn-madry', epochs: 1, batchSize: 32, seed: 1 })).body;
    const run = await waitForStatus(submitted.id, ['failed', 'succeeded'], 30_000);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^cannot load dataset fashion-mnist: .*\/nonexistent\/fashion-mnist/);
    expect((await queue.getJob(run.id))?.attemptsMade).toBe(1);
  });
});
