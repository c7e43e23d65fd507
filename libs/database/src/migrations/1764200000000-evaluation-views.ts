import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A defended model is evaluated twice, naively and adaptively: curve points and gallery
 * examples say which view measured them ('direct' for an undefended model, as before).
 */
export class EvaluationViews1764200000000 implements MigrationInterface {
  name = 'EvaluationViews1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE robustness_results ADD COLUMN view varchar(16) NOT NULL DEFAULT 'direct' CHECK (view IN ('direct', 'naive', 'adaptive'))`);
    await q.query(`ALTER TABLE robustness_results DROP CONSTRAINT robustness_results_pkey`);
    await q.query(`ALTER TABLE robustness_results ADD PRIMARY KEY (run_id, view, epsilon, attack)`);
    await q.query(`ALTER TABLE adversarial_examples ADD COLUMN view varchar(16) NOT NULL DEFAULT 'direct' CHECK (view IN ('direct', 'naive', 'adaptive'))`);
    await q.query(`ALTER TABLE adversarial_examples DROP CONSTRAINT adversarial_examples_uq`);
    await q.query(`ALTER TABLE adversarial_examples ADD CONSTRAINT adversarial_examples_uq UNIQUE (run_id, view, epsilon, example_index)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM adversarial_examples WHERE view <> 'direct'`);
    await q.query(`DELETE FROM robustness_results WHERE view <> 'direct'`);
    await q.query(`ALTER TABLE adversarial_examples DROP CONSTRAINT adversarial_examples_uq`);
    await q.query(`ALTER TABLE adversarial_examples ADD CONSTRAINT adversarial_examples_uq UNIQUE (run_id, epsilon, example_index)`);
    await q.query(`ALTER TABLE adversarial_examples DROP COLUMN view`);
    await q.query(`ALTER TABLE robustness_results DROP CONSTRAINT robustness_results_pkey`);
    await q.query(`ALTER TABLE robustness_results ADD PRIMARY KEY (run_id, epsilon, attack)`);
    await q.query(`ALTER TABLE robustness_results DROP COLUMN view`);
  }
}
