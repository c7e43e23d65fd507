import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../libs/database/src';

interface SpecRow {
  tenantId: string;
  kind: string;
  status: string;
  spec: Record<string, unknown>;
}

/**
 * The dashboard SQL views (docs/sql-views.md) over rows written as the worker writes them, in
 * tenants of this file's own: other files write runs to the same database at the same time.
 */
describe('dashboard SQL views (real Postgres, migrated as `npm run migrate` migrates)', () => {
  let db: DataSource;
  let tenantA: string;
  let tenantB: string;
  const tag = randomBytes(3).toString('hex');

  async function dropTenants(ids: string[]): Promise<void> {
    await db.query(`DELETE FROM runs WHERE tenant_id = ANY($1)`, [ids]);
    await db.query(`DELETE FROM tenants WHERE id = ANY($1)`, [ids]);
  }

  async function tenant(name: string): Promise<string> {
    const [{ id }] = await db.query(`INSERT INTO tenants (name) VALUES ($1) RETURNING id`, [`views-${name}-${tag}`]);
    return id;
  }

  async function run({ tenantId, kind, status, spec }: SpecRow): Promise<string> {
    const [{ id }] = await db.query(
      `INSERT INTO runs (tenant_id, kind, status, spec, started_at, finished_at)
       VALUES ($1, $2, $3::varchar, $4, now() - interval '90 seconds', CASE WHEN $3::varchar IN ('succeeded', 'failed') THEN now() END) RETURNING id`,
      [tenantId, kind, status, JSON.stringify(spec)],
    );
    return id;
  }

  async function metrics(runId: string, points: [string, number, number][]): Promise<void> {
    for (const [key, step, value] of points)
      await db.query(`INSERT INTO metrics (run_id, key, step, value) VALUES ($1, $2, $3, $4)`, [runId, key, step, value]);
  }

  async function checkpoint(runId: string, epoch: number): Promise<string> {
    const [{ id }] = await db.query(
      `INSERT INTO checkpoints (run_id, epoch, data, sha256, size_bytes, format) VALUES ($1, $2, '\\x00', $3, 1, 'bulwark-ckpt-v1')
       ON CONFLICT (run_id, epoch) DO UPDATE SET epoch = EXCLUDED.epoch RETURNING id`,
      [runId, epoch, randomBytes(32).toString('hex')],
    );
    return id;
  }

  /** An evaluation of `source` with its suite curve (and an attack's) at ε 0 and 0.1, robust counts given per view. */
  async function evaluation(
    tenantId: string,
    source: string,
    status: string,
    robust: Partial<Record<'direct' | 'naive' | 'adaptive', number>>,
    defense?: string,
  ): Promise<string> {
    const ckpt = await checkpoint(source, 2);
    const id = await run({
      tenantId,
      kind: 'evaluation',
      status,
      spec: {
        kind: 'evaluation',
        sourceRunId: source,
        checkpointId: ckpt,
        checkpointEpoch: 2,
        dataset: 'mnist',
        model: 'mlp',
        norm: 'linf',
        suite: 'standard',
        epsilons: [0, 0.1],
        ...(defense && { defense: { kind: defense } }),
      },
    });
    for (const [view, robustCorrect] of Object.entries(robust)) {
      for (const [epsilon, attack, correct] of [
        [0, 'suite', 950],
        [0.1, 'pgd', robustCorrect + 10],
        [0.1, 'suite', robustCorrect],
      ] as const) {
        await db.query(
          `INSERT INTO robustness_results (run_id, view, epsilon, attack, n, clean_correct, robust_correct, seconds)
           VALUES ($1, $2, $3, $4, 1000, 950, $5, 1.5)`,
          [id, view, epsilon, attack, correct],
        );
      }
    }
    return id;
  }

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 'sql-views-test')).initialize();
    tenantA = await tenant('a');
    tenantB = await tenant('b');
  });

  afterAll(async () => {
    if (db) await dropTenants([tenantA, tenantB]);
    await db?.destroy();
  });

  it('bulwark_run_summary gives each training run the metrics of its last epoch, the adversarial accuracy of its own attack', async () => {
    const id = await run({
      tenantId: tenantA,
      kind: 'adversarial-training',
      status: 'succeeded',
      spec: {
        kind: 'adversarial-training',
        dataset: 'mnist',
        model: 'cnn-small',
        attack: { name: 'pgd', epsilon: 0.3 },
        method: { name: 'pgd', epsilon: 0.3 },
        epochs: 2,
      },
    });
    await metrics(id, [
      ['train_loss', 1, 0.9],
      ['test_clean_accuracy', 1, 0.8],
      ['test_pgd_accuracy', 1, 0.4],
      ['test_examples', 1, 2000],
      ['train_loss', 2, 0.5],
      ['test_clean_accuracy', 2, 0.91],
      ['test_pgd_accuracy', 2, 0.55],
      ['test_fgsm_accuracy', 2, 0.99],
      ['test_examples', 2, 2000],
    ]);
    const queued = await run({
      tenantId: tenantA,
      kind: 'train',
      status: 'queued',
      spec: { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 }, epochs: 3 },
    });

    const rows = await db.query(`SELECT * FROM bulwark_run_summary WHERE tenant_id = $1 ORDER BY created_at`, [tenantA]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      run_id: id,
      tenant_name: `views-a-${tag}`,
      kind: 'adversarial-training',
      dataset: 'mnist',
      model: 'cnn-small',
      training_method: 'pgd',
      training_epsilon: 0.3,
      test_attack: 'pgd',
      final_epoch: 2,
      final_train_loss: 0.5,
      final_clean_accuracy: 0.91,
      final_adversarial_accuracy: 0.55,
      final_test_examples: 2000,
    });
    expect(Number(rows[0].duration_seconds)).toBeGreaterThanOrEqual(89);
    expect(rows[1]).toMatchObject({ run_id: queued, status: 'queued', final_epoch: null, final_clean_accuracy: null, training_epsilon: null });
  });

  it('bulwark_robustness_curve has a row per evaluation, view, attack and ε with its accuracies and n', async () => {
    const source = await run({
      tenantId: tenantB,
      kind: 'train',
      status: 'succeeded',
      spec: { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 } },
    });
    const id = await evaluation(tenantB, source, 'succeeded', { naive: 700, adaptive: 120 }, 'bit-depth');

    const rows = await db.query(`SELECT * FROM bulwark_robustness_curve WHERE evaluation_id = $1 ORDER BY view, epsilon, attack`, [id]);
    expect(rows.map((r: { view: string; epsilon: number; attack: string }) => [r.view, r.epsilon, r.attack])).toEqual([
      ['adaptive', 0, 'suite'],
      ['adaptive', 0.1, 'pgd'],
      ['adaptive', 0.1, 'suite'],
      ['naive', 0, 'suite'],
      ['naive', 0.1, 'pgd'],
      ['naive', 0.1, 'suite'],
    ]);
    expect(rows[2]).toMatchObject({
      tenant_id: tenantB,
      source_run_id: source,
      checkpoint_epoch: 2,
      dataset: 'mnist',
      norm: 'linf',
      suite: 'standard',
      inference_defense: 'bit-depth',
      n: 1000,
      clean_accuracy: 0.95,
      robust_accuracy: 0.12,
    });
  });

  it("bulwark_defense_leaderboard ranks a tenant's evaluations per dataset, norm, suite and ε by their weakest view, and no one else's", async () => {
    const tenantId = await tenant('board');
    const other = await tenant('board-other');
    const plain = await run({
      tenantId,
      kind: 'train',
      status: 'succeeded',
      spec: { kind: 'train', dataset: 'mnist', model: 'mlp', attack: { name: 'fgsm', epsilon: 0.1 } },
    });
    const hardened = await run({
      tenantId,
      kind: 'adversarial-training',
      status: 'succeeded',
      spec: { kind: 'adversarial-training', dataset: 'mnist', model: 'mlp', attack: { name: 'pgd', epsilon: 0.3 }, method: { name: 'pgd', epsilon: 0.3 } },
    });
    const plainEval = await evaluation(tenantId, plain, 'succeeded', { direct: 30 });
    const hardenedEval = await evaluation(tenantId, hardened, 'succeeded', { direct: 600 });
    // Looks best naively (900), is worst adaptively (10): it must rank by 10.
    const maskedEval = await evaluation(tenantId, plain, 'succeeded', { naive: 900, adaptive: 10 }, 'jpeg');
    await evaluation(tenantId, hardened, 'failed', { direct: 930 });
    const otherSource = await run({ tenantId: other, kind: 'train', status: 'succeeded', spec: { kind: 'train', dataset: 'mnist', model: 'mlp' } });
    await evaluation(other, otherSource, 'succeeded', { direct: 800 });

    const board = await db.query(
      `SELECT rank, defense, worst_view, robust_accuracy, evaluation_id, n FROM bulwark_defense_leaderboard
       WHERE tenant_id = $1 AND dataset = 'mnist' AND norm = 'linf' AND suite = 'standard' AND epsilon = 0.1 ORDER BY rank`,
      [tenantId],
    );
    expect(board).toEqual([
      { rank: '1', defense: 'adversarial training (pgd, ε=0.3)', worst_view: 'direct', robust_accuracy: 0.6, evaluation_id: hardenedEval, n: 1000 },
      { rank: '2', defense: 'standard training', worst_view: 'direct', robust_accuracy: 0.03, evaluation_id: plainEval, n: 1000 },
      { rank: '3', defense: 'standard training + jpeg', worst_view: 'adaptive', robust_accuracy: 0.01, evaluation_id: maskedEval, n: 1000 },
    ]);
    const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM bulwark_defense_leaderboard WHERE tenant_id = $1`, [other]);
    expect(count).toBe(2);
    await dropTenants([tenantId, other]);
  });
});
