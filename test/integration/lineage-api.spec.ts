import { INestApplication } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { createApiApp } from '../../apps/api/src/bootstrap-api';
import { EvaluationResultRepository, Run, RunRepository } from '../../libs/database/src';
import { TrainingRunSpec } from '../../libs/spec/src';
import { testApiConfig } from '../support/test-config';
import { HttpClient, keyedHttp } from '../support/api-keys';

const base: TrainingRunSpec = {
  kind: 'train',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 1,
  batchSize: 64,
  seed: 1,
  learningRate: 0.001,
  testFraction: 0.2,
};

describe('GET /runs/:id/lineage (real Postgres)', () => {
  let app: INestApplication;
  let runs: Repository<Run>;
  let repository: RunRepository;
  let results: EvaluationResultRepository;
  let http: HttpClient;

  beforeAll(async () => {
    app = await createApiApp(testApiConfig('lineage'), ['error', 'warn']);
    await app.init();
    http = await keyedHttp(app);
    const dataSource = app.get(DataSource);
    runs = dataSource.getRepository(Run);
    repository = app.get(RunRepository);
    results = app.get(EvaluationResultRepository);
  });

  afterAll(async () => {
    await app?.close();
  });

  async function trained(spec: TrainingRunSpec, parent?: Run): Promise<{ run: Run; checkpointId: string }> {
    const parentCheckpoint = parent ? await repository.latestCheckpoint(parent.id) : null;
    const run = await runs.save(
      runs.create({
        kind: spec.kind,
        status: 'succeeded',
        spec,
        parentRunId: parent?.id ?? null,
        parentCheckpointId: parentCheckpoint?.id ?? null,
      }),
    );
    await repository.saveCheckpoint(run.id, 1, Buffer.from([1]), run.id.replace(/-/g, '').padEnd(64, '0'), 'test');
    return { run, checkpointId: (await repository.latestCheckpoint(run.id))!.id };
  }

  it("walks base → adversarially fine-tuned → distilled, root first, with each model's evaluations", async () => {
    const root = await trained(base);
    const fineTuned = await trained(
      { ...base, kind: 'adversarial-training', method: { name: 'pgd', epsilon: 0.1, steps: 7 }, initialCheckpointId: root.checkpointId },
      root.run,
    );
    const distilled = await trained({ ...base, kind: 'distillation', temperature: 20, teacherCheckpointId: fineTuned.checkpointId }, fineTuned.run);
    const evaluation = await runs.save(
      runs.create({
        kind: 'evaluation',
        status: 'succeeded',
        spec: { kind: 'evaluation' },
        parentRunId: fineTuned.run.id,
        parentCheckpointId: fineTuned.checkpointId,
      }),
    );
    const row = (attack: string, robustCorrect: number) => ({ attack, n: 100, cleanCorrect: 90, robustCorrect, seconds: 1, details: {} });
    await results.saveRobustnessPoint(evaluation.id, 'direct', 0.1, [row('fgsm', 70), row('suite', 55)], []);

    const res = await http().get(`/runs/${distilled.run.id}/lineage`).expect(200);
    expect(res.body.chain.map((n: { id: string; training: string }) => [n.id, n.training])).toEqual([
      [root.run.id, 'training'],
      [fineTuned.run.id, 'adversarial training (pgd, ε = 0.1)'],
      [distilled.run.id, 'distillation at T = 20'],
    ]);
    expect(res.body.chain[1].evaluations).toEqual([
      {
        id: evaluation.id,
        status: 'succeeded',
        checkpointId: fineTuned.checkpointId,
        points: [{ epsilon: 0.1, n: 100, clean: 0.9, robust: 0.55, adaptiveRobust: null }],
      },
    ]);
    expect(res.body.chain[2].parentCheckpointId).toBe(fineTuned.checkpointId);
    expect(res.body.children).toEqual([]);

    // From the middle: its ancestors, and the distilled student as a descendant (the evaluation is not one).
    const middle = await http().get(`/runs/${fineTuned.run.id}/lineage`).expect(200);
    expect(middle.body.chain.map((n: { id: string }) => n.id)).toEqual([root.run.id, fineTuned.run.id]);
    expect(middle.body.children).toEqual([{ id: distilled.run.id, kind: 'distillation', status: 'succeeded' }]);
  });

  it('starts a chain at an imported model', async () => {
    const imported = await runs.save(
      runs.create({
        kind: 'import',
        status: 'succeeded',
        spec: {
          kind: 'import',
          dataset: 'mnist',
          model: 'imported',
          name: 'lineage digits',
          attack: { name: 'fgsm', epsilon: 0.1 },
          seed: 0,
          testFraction: 0.2,
          upload: { sha256: '0'.repeat(64), sizeBytes: 1, weightBytes: 1 },
        },
      }),
    );
    await repository.saveCheckpoint(imported.id, 0, Buffer.from([0]), 'a'.repeat(64), 'test');
    const fineTuned = await trained({ ...base, kind: 'adversarial-training', model: 'imported' }, imported);
    const res = await http().get(`/runs/${fineTuned.run.id}/lineage`).expect(200);
    expect(res.body.chain.map((n: { kind: string; training: string }) => [n.kind, n.training])).toEqual([
      ['import', 'imported TensorFlow.js model "lineage digits"'],
      ['adversarial-training', 'adversarial training (fgsm, ε = 0.1)'],
    ]);
  });

  it('answers 404 for an unknown run, a non-UUID and an evaluation (naming its source)', async () => {
    await http().get('/runs/00000000-0000-4000-8000-000000000000/lineage').expect(404);
    await http().get('/runs/not-a-uuid/lineage').expect(404);
    const source = await trained(base);
    const evaluation = await runs.save(runs.create({ kind: 'evaluation', status: 'queued', spec: { kind: 'evaluation' }, parentRunId: source.run.id }));
    const res = await http().get(`/runs/${evaluation.id}/lineage`).expect(404);
    expect(res.body.message).toContain(source.run.id);
  });
});
