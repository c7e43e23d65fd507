import { z } from 'zod';
import { fieldMessage, fieldPath } from './issue-messages';
import { base64Schema } from './common-fields.schema';
import { createRunRequestSchema } from './training-run.schema';
import { MAX_INT4, MAX_RESUME_METRICS } from './request-limits';
import { runKindSchema, runStatusSchema } from './vocabulary';

/** The other requests of /runs: resuming a carried-over run, and the list and metrics queries. */

/** The newest checkpoint of the run being carried over, as GET /runs/:id/checkpoints/:checkpointId serves it. */
const resumeCheckpointSchema = z.strictObject({
  epoch: z.int().min(1).max(MAX_INT4).meta({ description: 'The epoch it was written after; training continues with the next one' }),
  data: base64Schema.meta({ description: 'The checkpoint file, base64' }),
  sha256: z.hex().length(64).meta({ description: 'SHA-256 of the bytes (hex), as the checkpoint listing gives it: checked before anything is stored' }),
  format: z
    .string()
    // The version is bounded so the name fits the checkpoints.format column (32 characters).
    .regex(/^bulwark-ckpt-v\d{1,6}$/, fieldMessage('must be a bulwark checkpoint format (bulwark-ckpt-v1, …)'))
    .meta({ example: 'bulwark-ckpt-v1', description: 'The checkpoint format, as the listing gives it' }),
});

/** A metric series' name, as workers write them and GET /runs/:id/metrics filters by them. */
export const METRIC_KEY_PATTERN = /^[a-z0-9_-][a-z0-9_.-]{0,63}$/;
const metricKeySchema = z.string().regex(METRIC_KEY_PATTERN, fieldMessage('must be 1-64 characters of a-z, 0-9, _ . - (not starting with .)'));

const resumeMetricSchema = z.strictObject({
  key: metricKeySchema,
  step: z.int().min(0).max(MAX_INT4),
  value: z.number(),
});

/**
 * The points as a whole, before anything is written: each (key, step) once (the table's key,
 * so a duplicate would fail the insert), and none after the checkpoint's epoch (those epochs
 * run again and write their own points; a client that sent them expects them kept).
 */
function checkResumeMetrics(request: { checkpoint: { epoch: number }; metrics?: Array<{ key: string; step: number }> }, ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  const epoch = request.checkpoint.epoch;
  (request.metrics ?? []).forEach(({ key, step }, i) => {
    const path = ['metrics', i];
    const id = `${key}:${step}`; // a key never holds ":"
    const first = seen.get(id);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path, message: `${fieldPath(path)} repeats metrics.${first} (key ${key}, step ${step}): each point once` });
    } else {
      seen.set(id, i);
    }
    if (step > epoch) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'step'],
        message: `${fieldPath([...path, 'step'])} ${step} is after checkpoint.epoch ${epoch}: send the points up to the checkpoint (later epochs run again)`,
      });
    }
  });
}

/**
 * Body of POST /runs/resume: a run carried over from another database (another cluster, or a
 * session whose database did not survive) as its spec, its newest checkpoint and the metrics
 * written up to it. The new run resumes from that checkpoint exactly as a re-delivered job would.
 */
export const resumeRunRequestSchema = z
  .strictObject({
    run: createRunRequestSchema.meta({ description: 'The run as it was submitted to POST /runs' }),
    checkpoint: resumeCheckpointSchema,
    metrics: z
      .array(resumeMetricSchema)
      .max(MAX_RESUME_METRICS)
      .optional()
      .meta({
        description:
          `Metric points of the epochs up to the checkpoint, at most ${MAX_RESUME_METRICS}, each (key, step) once; ` +
          'a point after the checkpoint is refused (those epochs run again)',
      }),
  })
  .superRefine(checkResumeMetrics);
export type ResumeRunRequest = z.infer<typeof resumeRunRequestSchema>;

/** What an Idempotency-Key (header, or the query that looks one up) may be. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * A whole number in a query string, where everything arrives as text: up to 10 decimal digits,
 * optionally negative (so that -1 is told it is below the minimum), never '', '1e20', '0x10' or
 * ' 5' that Number() would take; checked against the bounds after.
 */
const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,10}$/, fieldMessage('must be an integer number (up to 10 decimal digits)'))
    .transform(Number)
    .pipe(z.int().min(min).max(max));

export const listRunsQuerySchema = z.strictObject({
  status: runStatusSchema.optional(),
  kind: runKindSchema.optional(),
  idempotencyKey: z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN, fieldMessage('must be 1-255 printable ASCII characters'))
    .optional()
    .meta({ description: 'Only the run created with this Idempotency-Key: a client finds what an earlier request created without sending it again' }),
  limit: queryInteger(1, 200).default(20).meta({ description: 'Runs per page, 1-200 (default 20)' }),
  // Postgres takes OFFSET as a bigint; an int4 bound keeps it far inside that.
  offset: queryInteger(0, MAX_INT4)
    .default(0)
    .meta({ description: `Runs to skip, 0-${MAX_INT4} (default 0)` }),
});
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;

/** Query of GET /datasets: a page of the tenant's uploaded datasets, newest first. */
export const listDatasetsQuerySchema = z.strictObject({
  limit: queryInteger(1, 200).default(20).meta({ description: 'Datasets per page, 1-200 (default 20)' }),
  offset: queryInteger(0, MAX_INT4)
    .default(0)
    .meta({ description: `Datasets to skip, 0-${MAX_INT4} (default 0)` }),
});

export const metricsQuerySchema = z.strictObject({
  key: metricKeySchema.optional().meta({ description: 'Only this series, e.g. train_loss, test_clean_accuracy, test_fgsm_accuracy' }),
});
