import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An evaluation runs as shard jobs: its parent job plans them here (a row without a result per
 * shard), each shard job fills in its per-example results, and the parent merges them.
 */
export class EvaluationShards1764300000000 implements MigrationInterface {
  name = 'EvaluationShards1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE evaluation_shards (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        view varchar(16) NOT NULL CHECK (view IN ('direct', 'naive', 'adaptive')),
        shard_index integer NOT NULL CHECK (shard_index >= 0),
        start integer NOT NULL CHECK (start >= 0),
        size integer NOT NULL CHECK (size > 0),
        result jsonb,
        seconds double precision,
        backend jsonb,
        planned_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CHECK ((result IS NULL) = (finished_at IS NULL)),
        PRIMARY KEY (run_id, view, shard_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE evaluation_shards`);
  }
}
