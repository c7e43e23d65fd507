import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Evaluation runs: lineage (which run and checkpoint a run derives from), a structured result
 * on the run, the robustness curve (one row per ε and attack) and the adversarial-example gallery.
 */
export class Evaluations1764100000000 implements MigrationInterface {
  name = 'Evaluations1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN parent_run_id uuid REFERENCES runs(id) ON DELETE RESTRICT`);
    await q.query(`ALTER TABLE runs ADD COLUMN parent_checkpoint_id uuid REFERENCES checkpoints(id) ON DELETE RESTRICT`);
    await q.query(`ALTER TABLE runs ADD COLUMN result jsonb`);
    await q.query(`CREATE INDEX runs_parent_idx ON runs (parent_run_id, created_at)`);
    await q.query(`
      CREATE TABLE robustness_results (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epsilon double precision NOT NULL CHECK (epsilon >= 0),
        attack varchar(32) NOT NULL,
        n integer NOT NULL CHECK (n > 0),
        clean_correct integer NOT NULL CHECK (clean_correct >= 0 AND clean_correct <= n),
        robust_correct integer NOT NULL CHECK (robust_correct >= 0 AND robust_correct <= clean_correct),
        seconds double precision NOT NULL,
        details jsonb NOT NULL DEFAULT '{}',
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, epsilon, attack)
      )`);
    await q.query(`
      CREATE TABLE adversarial_examples (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epsilon double precision NOT NULL,
        example_index integer NOT NULL,
        attack varchar(32),
        label integer NOT NULL,
        clean_prediction integer NOT NULL,
        adversarial_prediction integer NOT NULL,
        shape integer[] NOT NULL,
        clean bytea NOT NULL,
        adversarial bytea NOT NULL,
        linf_norm double precision NOT NULL,
        l2_norm double precision NOT NULL,
        CONSTRAINT adversarial_examples_uq UNIQUE (run_id, epsilon, example_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE adversarial_examples`);
    await q.query(`DROP TABLE robustness_results`);
    await q.query(`DROP INDEX runs_parent_idx`);
    await q.query(`ALTER TABLE runs DROP COLUMN result`);
    await q.query(`ALTER TABLE runs DROP COLUMN parent_checkpoint_id`);
    await q.query(`ALTER TABLE runs DROP COLUMN parent_run_id`);
  }
}
