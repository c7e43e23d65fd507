import { MigrationInterface, QueryRunner } from 'typeorm';

/** An evaluation runs as shard jobs: each stores its per-example results here for the parent job to merge. */
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
        result jsonb NOT NULL,
        seconds double precision NOT NULL,
        backend jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, view, shard_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE evaluation_shards`);
  }
}
