import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a run's crash budget and retries need: crashes without progress are counted against the
 * newest checkpoint epoch seen at the last crash (a run that checkpointed since is not one crash
 * closer to failing), BullMQ's stalled counter of the run's job as already counted, and when a
 * failed attempt will be retried, so a run waiting out an outage says so.
 */
export class CrashBudget1764400000000 implements MigrationInterface {
  name = 'CrashBudget1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE runs
        ADD COLUMN crashes integer NOT NULL DEFAULT 0 CHECK (crashes >= 0),
        ADD COLUMN crash_checkpoint_epoch integer,
        ADD COLUMN stalls_counted integer NOT NULL DEFAULT 0 CHECK (stalls_counted >= 0),
        ADD COLUMN next_attempt_at timestamptz`);
    // The reconciler's scan: the few runs not yet ended, oldest change first.
    await q.query(`CREATE INDEX runs_unfinished_idx ON runs (updated_at) WHERE status IN ('queued', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX runs_unfinished_idx`);
    await q.query(`ALTER TABLE runs DROP COLUMN next_attempt_at, DROP COLUMN stalls_counted, DROP COLUMN crash_checkpoint_epoch, DROP COLUMN crashes`);
  }
}
