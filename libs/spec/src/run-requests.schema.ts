import { z } from 'zod';
import { fieldMessage } from './issue-messages';
import { base64Schema } from './common-fields.schema';
import { createRunRequestSchema } from './training-run.schema';
import { runKindSchema, runStatusSchema } from './vocabulary';

/** The other requests of /runs: resuming a carried-over run, and the list and metrics queries. */

/** The newest checkpoint of the run being carried over, as GET /runs/:id/checkpoints/:checkpointId serves it. */
const resumeCheckpointSchema = z.strictObject({
  epoch: z.int().min(1).meta({ description: 'The epoch it was written after; training continues with the next one' }),
  data: base64Schema.meta({ description: 'The checkpoint file, base64' }),
  sha256: z.hex().length(64).meta({ description: 'SHA-256 of the bytes (hex), as the checkpoint listing gives it: checked before anything is stored' }),
  format: z
    .string()
    .regex(/^bulwark-ckpt-v\d+$/, fieldMessage('must be a bulwark checkpoint format (bulwark-ckpt-v1, …)'))
    .meta({ example: 'bulwark-ckpt-v1', description: 'The checkpoint format, as the listing gives it' }),
});

const resumeMetricSchema = z.strictObject({
  key: z.string().max(64),
  step: z.int().min(0),
  value: z.number(),
});

/**
 * Body of POST /runs/resume: a run carried over from another database (another cluster, or a
 * session whose database did not survive) as its spec, its newest checkpoint and the metrics
 * written up to it. The new run resumes from that checkpoint exactly as a re-delivered job would.
 */
export const resumeRunRequestSchema = z.strictObject({
  run: createRunRequestSchema.meta({ description: 'The run as it was submitted to POST /runs' }),
  checkpoint: resumeCheckpointSchema,
  metrics: z
    .array(resumeMetricSchema)
    .max(100_000)
    .optional()
    .meta({ description: 'Metric points of the epochs up to the checkpoint (later ones are dropped: those epochs run again)' }),
});
export type ResumeRunRequest = z.infer<typeof resumeRunRequestSchema>;

/** What an Idempotency-Key (header, or the query that looks one up) may be. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** A whole number in a query string, where everything arrives as text. */
const queryInteger = () => z.coerce.number().int();

export const listRunsQuerySchema = z.strictObject({
  status: runStatusSchema.optional(),
  kind: runKindSchema.optional(),
  idempotencyKey: z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN, fieldMessage('must be 1-255 printable ASCII characters'))
    .optional()
    .meta({ description: 'Only the run created with this Idempotency-Key: a client finds what an earlier request created without sending it again' }),
  limit: queryInteger().min(1).max(200).default(20),
  offset: queryInteger().min(0).default(0),
});
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;

export const metricsQuerySchema = z.strictObject({
  key: z
    .string()
    .regex(/^[a-z0-9_.-]{1,64}$/, fieldMessage('must be 1-64 characters of a-z, 0-9, _ . -'))
    .optional()
    .meta({ description: 'Only this series, e.g. train_loss, test_clean_accuracy, test_fgsm_accuracy' }),
});
