import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764086400000 implements MigrationInterface {
  name = 'InitialSchema1764086400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind varchar(32) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        spec jsonb NOT NULL,
        idempotency_key varchar(255) UNIQUE,
        request_hash char(64),
        backend jsonb,
        progress real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
        attempts integer NOT NULL DEFAULT 0,
        error text,
        cancel_requested_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX runs_status_created_idx ON runs (status, created_at)`);
    await q.query(`CREATE INDEX runs_kind_created_idx ON runs (kind, created_at)`);
    await q.query(`
      CREATE TABLE metrics (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key varchar(64) NOT NULL,
        step integer NOT NULL,
        value double precision NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, key, step)
      )`);
    await q.query(`
      CREATE TABLE checkpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch integer NOT NULL CHECK (epoch >= 0),
        data bytea NOT NULL,
        sha256 char(64) NOT NULL,
        size_bytes integer NOT NULL,
        format varchar(32) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT checkpoints_run_epoch_uq UNIQUE (run_id, epoch)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE checkpoints`);
    await q.query(`DROP TABLE metrics`);
    await q.query(`DROP TABLE runs`);
  }
}
