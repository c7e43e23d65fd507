import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read-only SQL views for Grafana, Metabase and psql (docs/sql-views.md): the questions the
 * dashboard answers, over the tables as they are, so nothing is copied and nothing goes stale.
 * Every view has tenant_id (and tenant_name), so a shared Grafana filters per tenant; ranks never
 * compare one tenant's models with another's. A later migration that changes a column these
 * read must drop and recreate the view (Postgres refuses otherwise).
 */
export class DashboardSqlViews1764900000000 implements MigrationInterface {
  name = 'DashboardSqlViews1764900000000';

  async up(q: QueryRunner): Promise<void> {
    // Training and import runs with the metrics of their last completed epoch.
    await q.query(`
      CREATE VIEW bulwark_run_summary AS
      SELECT
        r.tenant_id,
        t.name AS tenant_name,
        r.id AS run_id,
        r.spec->>'name' AS run_name,
        r.kind,
        r.status,
        r.spec->>'dataset' AS dataset,
        r.spec->>'model' AS model,
        r.spec->'method'->>'name' AS training_method,
        r.spec->'attack'->>'name' AS test_attack,
        (r.spec->'attack'->>'epsilon')::double precision AS test_epsilon,
        CASE WHEN r.kind = 'adversarial-training'
          THEN COALESCE(r.spec->'method'->>'epsilon', r.spec->'attack'->>'epsilon')::double precision
        END AS training_epsilon,
        (r.spec->>'temperature')::double precision AS temperature,
        (r.spec->>'epochs')::integer AS epochs,
        last.epoch AS final_epoch,
        last.train_loss AS final_train_loss,
        last.clean_accuracy AS final_clean_accuracy,
        last.adversarial_accuracy AS final_adversarial_accuracy,
        last.test_examples::integer AS final_test_examples,
        r.progress,
        r.parent_run_id,
        r.created_at,
        r.started_at,
        r.finished_at,
        EXTRACT(EPOCH FROM (r.finished_at - r.started_at)) AS duration_seconds
      FROM runs r
      JOIN tenants t ON t.id = r.tenant_id
      LEFT JOIN LATERAL (
        SELECT
          m.step AS epoch,
          max(m.value) FILTER (WHERE m.key = 'train_loss') AS train_loss,
          max(m.value) FILTER (WHERE m.key = 'test_clean_accuracy') AS clean_accuracy,
          max(m.value) FILTER (WHERE m.key = 'test_' || (r.spec->'attack'->>'name') || '_accuracy') AS adversarial_accuracy,
          max(m.value) FILTER (WHERE m.key = 'test_examples') AS test_examples
        FROM metrics m
        WHERE m.run_id = r.id
          AND m.step = (SELECT max(e.step) FROM metrics e WHERE e.run_id = r.id AND e.key = 'test_clean_accuracy')
        GROUP BY m.step
      ) last ON true
      WHERE r.kind <> 'evaluation'`);

    // One row per point of every evaluation's curves: each attack and the suite's per-example worst case, per view and ε.
    await q.query(`
      CREATE VIEW bulwark_robustness_curve AS
      SELECT
        e.tenant_id,
        t.name AS tenant_name,
        e.id AS evaluation_id,
        e.status AS evaluation_status,
        (e.spec->>'sourceRunId')::uuid AS source_run_id,
        (e.spec->>'checkpointId')::uuid AS checkpoint_id,
        (e.spec->>'checkpointEpoch')::integer AS checkpoint_epoch,
        e.spec->>'dataset' AS dataset,
        e.spec->>'model' AS model,
        e.spec->>'norm' AS norm,
        e.spec->>'suite' AS suite,
        e.spec->'defense'->>'kind' AS inference_defense,
        rr.view,
        rr.attack,
        rr.epsilon,
        rr.n,
        rr.clean_correct,
        rr.robust_correct,
        rr.clean_correct::double precision / NULLIF(rr.n, 0) AS clean_accuracy,
        rr.robust_correct::double precision / NULLIF(rr.n, 0) AS robust_accuracy,
        rr.seconds,
        rr.recorded_at
      FROM robustness_results rr
      JOIN runs e ON e.id = rr.run_id AND e.kind = 'evaluation'
      JOIN tenants t ON t.id = e.tenant_id`);

    // Succeeded evaluations ranked per tenant, dataset, norm, suite and ε by the suite's worst case.
    // A defended model counts with its weakest view (adaptive attacks usually): a defense that only
    // masks gradients must not top the board on its naive figure.
    await q.query(`
      CREATE VIEW bulwark_defense_leaderboard AS
      WITH worst AS (
        SELECT DISTINCT ON (c.evaluation_id, c.epsilon)
          c.*
        FROM bulwark_robustness_curve c
        WHERE c.attack = 'suite' AND c.evaluation_status = 'succeeded'
        ORDER BY c.evaluation_id, c.epsilon, c.robust_accuracy ASC, c.view
      )
      SELECT
        w.tenant_id,
        w.tenant_name,
        w.dataset,
        w.norm,
        w.suite,
        w.epsilon,
        rank() OVER (PARTITION BY w.tenant_id, w.dataset, w.norm, w.suite, w.epsilon ORDER BY w.robust_accuracy DESC, w.clean_accuracy DESC) AS rank,
        concat_ws(' + ',
          CASE s.kind
            WHEN 'adversarial-training' THEN concat('adversarial training (', COALESCE(s.spec->'method'->>'name', 'fgsm'), ', ε=',
              COALESCE(s.spec->'method'->>'epsilon', s.spec->'attack'->>'epsilon'), ')')
            WHEN 'distillation' THEN concat('distillation (T=', s.spec->>'temperature', ')')
            WHEN 'import' THEN 'imported model'
            ELSE 'standard training'
          END,
          w.inference_defense) AS defense,
        s.kind AS training_kind,
        w.inference_defense,
        w.view AS worst_view,
        w.n,
        w.clean_accuracy,
        w.robust_accuracy,
        w.evaluation_id,
        w.source_run_id,
        w.checkpoint_id,
        w.checkpoint_epoch,
        w.model
      FROM worst w
      LEFT JOIN runs s ON s.id = w.source_run_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW bulwark_defense_leaderboard`);
    await q.query(`DROP VIEW bulwark_robustness_curve`);
    await q.query(`DROP VIEW bulwark_run_summary`);
  }
}
