import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Datasets users upload (POST /datasets), in the same store as the runs that use them, so any
 * worker can load one and a backup holds both. Pixels and labels are kept in the canonical
 * layout every dataset has in memory (uint8, example-major, H×W×C), train and test apart.
 */
export class Datasets1764800000000 implements MigrationInterface {
  name = 'Datasets1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE datasets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name varchar(200) NOT NULL,
        format varchar(8) NOT NULL CHECK (format IN ('idx', 'npy')),
        height int NOT NULL CHECK (height > 0),
        width int NOT NULL CHECK (width > 0),
        channels int NOT NULL CHECK (channels IN (1, 3)),
        class_names jsonb NOT NULL,
        train_count int NOT NULL CHECK (train_count > 0),
        test_count int NOT NULL CHECK (test_count > 0),
        test_split jsonb NOT NULL,
        size_bytes bigint NOT NULL,
        sha256 char(64) NOT NULL,
        train_images bytea NOT NULL,
        train_labels bytea NOT NULL,
        test_images bytea NOT NULL,
        test_labels bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Bytes are written once and read whole: compressing them again on every read buys nothing.
    for (const column of ['train_images', 'train_labels', 'test_images', 'test_labels']) {
      await q.query(`ALTER TABLE datasets ALTER COLUMN ${column} SET STORAGE EXTERNAL`);
    }
    await q.query(`CREATE INDEX datasets_tenant_created_idx ON datasets (tenant_id, created_at)`);

    // A run on an uploaded dataset references it, filled in from its spec by a trigger, so no
    // writer of runs has to know. The key does not keep a dataset alive (a finished run loses
    // the reference when its dataset is deleted): it makes a run stored while the dataset is
    // being deleted either wait for that delete and fail, or commit first and be seen by it.
    await q.query(`ALTER TABLE runs ADD COLUMN dataset_id uuid REFERENCES datasets(id) ON DELETE SET NULL`);
    await q.query(`
      CREATE FUNCTION runs_set_dataset_id() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.dataset_id := CASE WHEN NEW.spec->>'dataset' LIKE 'upload:%' THEN substr(NEW.spec->>'dataset', 8)::uuid END;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER runs_set_dataset_id BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION runs_set_dataset_id()`);
    await q.query(`CREATE INDEX runs_dataset_idx ON runs (dataset_id) WHERE dataset_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER runs_set_dataset_id ON runs`);
    await q.query(`DROP FUNCTION runs_set_dataset_id()`);
    await q.query(`ALTER TABLE runs DROP COLUMN dataset_id`);
    await q.query(`DROP TABLE datasets`);
  }
}
