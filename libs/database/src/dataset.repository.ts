import { DataSource, QueryFailedError } from 'typeorm';

/** How an uploaded dataset's test examples were chosen (as `TestSplit` of @bulwark/data says it). */
export type StoredTestSplit = { kind: 'official' } | { kind: 'seeded'; testFraction: number; seed: number };

/** An uploaded dataset's public record: everything but its bytes. */
export interface DatasetRecord {
  id: string;
  tenantId: string;
  name: string;
  format: 'idx' | 'npy';
  /** [H, W, C] of one example. */
  shape: [number, number, number];
  classNames: string[];
  trainCount: number;
  testCount: number;
  testSplit: StoredTestSplit;
  /** Of the four arrays as stored. */
  sizeBytes: number;
  /** SHA-256 of the stored bytes: train images, train labels, test images, test labels, in that order. */
  sha256: string;
  createdAt: Date;
}

/** The canonical bytes: uint8 pixels (example-major, H×W×C) and uint8 labels. */
export interface DatasetBytes {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export type NewDataset = Omit<DatasetRecord, 'id' | 'createdAt' | 'sizeBytes'> & DatasetBytes;

export type DeleteDatasetResult = { deleted: true } | { deleted: false; reason: 'not-found' } | { deleted: false; reason: 'in-use'; runIds: string[] };

interface DatasetRow {
  id: string;
  tenant_id: string;
  name: string;
  format: 'idx' | 'npy';
  height: number;
  width: number;
  channels: number;
  class_names: string[];
  train_count: number;
  test_count: number;
  test_split: StoredTestSplit;
  size_bytes: string;
  sha256: string;
  created_at: Date;
}

const RECORD_COLUMNS = 'id, tenant_id, name, format, height, width, channels, class_names, train_count, test_count, test_split, size_bytes, sha256, created_at';
const FOREIGN_KEY_VIOLATION = '23503';
/** Postgres's name for the key the migration declares on runs.dataset_id. */
const RUNS_DATASET_CONSTRAINT = 'runs_dataset_id_fkey';
/** Runs that still need their dataset: the ones a delete must wait for. */
const UNFINISHED = `status IN ('queued', 'running')`;

/**
 * Uploaded datasets, per tenant. A plain class over a DataSource like RunRepository: the worker's
 * child processes build one to load a run's dataset. Listings never read the bytes.
 */
export class DatasetRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(dataset: NewDataset): Promise<DatasetRecord> {
    const { trainImages, trainLabels, testImages, testLabels } = dataset;
    const sizeBytes = trainImages.length + trainLabels.length + testImages.length + testLabels.length;
    const [height, width, channels] = dataset.shape;
    const rows: DatasetRow[] = await this.dataSource.query(
      `INSERT INTO datasets (tenant_id, name, format, height, width, channels, class_names, train_count, test_count, test_split,
         size_bytes, sha256, train_images, train_labels, test_images, test_labels)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       RETURNING ${RECORD_COLUMNS}`,
      [
        dataset.tenantId,
        dataset.name,
        dataset.format,
        height,
        width,
        channels,
        JSON.stringify(dataset.classNames),
        dataset.trainCount,
        dataset.testCount,
        JSON.stringify(dataset.testSplit),
        sizeBytes,
        dataset.sha256,
        Buffer.from(trainImages.buffer, trainImages.byteOffset, trainImages.byteLength),
        Buffer.from(trainLabels.buffer, trainLabels.byteOffset, trainLabels.byteLength),
        Buffer.from(testImages.buffer, testImages.byteOffset, testImages.byteLength),
        Buffer.from(testLabels.buffer, testLabels.byteOffset, testLabels.byteLength),
      ],
    );
    return toRecord(rows[0]);
  }

  /** Newest first. */
  async list(tenantId: string, { limit, offset }: { limit: number; offset: number }): Promise<{ items: DatasetRecord[]; total: number }> {
    const rows: DatasetRow[] = await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS} FROM datasets WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`,
      [tenantId, limit, offset],
    );
    const [{ count }]: { count: string }[] = await this.dataSource.query(`SELECT count(*) FROM datasets WHERE tenant_id = $1`, [tenantId]);
    return { items: rows.map(toRecord), total: Number(count) };
  }

  /** Another tenant's dataset is not found, as its runs are not. */
  async findOwned(tenantId: string, id: string): Promise<DatasetRecord | null> {
    const rows: DatasetRow[] = await this.dataSource.query(`SELECT ${RECORD_COLUMNS} FROM datasets WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** The record and bytes, for the worker (whose run's spec was checked against the tenant when it was submitted). */
  async load(id: string): Promise<(DatasetRecord & DatasetBytes) | null> {
    const rows: (DatasetRow & Record<'train_images' | 'train_labels' | 'test_images' | 'test_labels', Buffer>)[] = await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS}, train_images, train_labels, test_images, test_labels FROM datasets WHERE id = $1`,
      [id],
    );
    if (!rows.length) return null;
    const row = rows[0];
    const plain = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    return {
      ...toRecord(row),
      trainImages: plain(row.train_images),
      trainLabels: plain(row.train_labels),
      testImages: plain(row.test_images),
      testLabels: plain(row.test_labels),
    };
  }

  /**
   * Deletes the dataset unless a queued or running run (training, import or evaluation) uses it.
   * The row lock waits for any run being stored on it (its foreign key holds a share lock until
   * it commits), so the check that follows sees that run; a run stored after the lock waits for
   * the delete and then fails its key (see `isDeletedDatasetError`).
   */
  async delete(tenantId: string, id: string): Promise<DeleteDatasetResult> {
    return this.dataSource.transaction(async (em): Promise<DeleteDatasetResult> => {
      const found: { id: string }[] = await em.query(`SELECT id FROM datasets WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [id, tenantId]);
      if (!found.length) return { deleted: false, reason: 'not-found' };
      const users: { id: string }[] = await em.query(`SELECT id FROM runs WHERE dataset_id = $1 AND ${UNFINISHED} ORDER BY created_at LIMIT 20`, [id]);
      if (users.length) return { deleted: false, reason: 'in-use', runIds: users.map((run) => run.id) };
      await em.query(`DELETE FROM datasets WHERE id = $1`, [id]);
      return { deleted: true };
    });
  }
}

/** A run insert that failed because its uploaded dataset was deleted between the submit's check and the insert. */
export function isDeletedDatasetError(error: unknown): boolean {
  const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; constraint?: string }) : undefined;
  return driverError?.code === FOREIGN_KEY_VIOLATION && driverError.constraint === RUNS_DATASET_CONSTRAINT;
}

function toRecord(row: DatasetRow): DatasetRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    format: row.format,
    shape: [row.height, row.width, row.channels],
    classNames: row.class_names,
    trainCount: row.train_count,
    testCount: row.test_count,
    testSplit: row.test_split,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    createdAt: row.created_at,
  };
}
