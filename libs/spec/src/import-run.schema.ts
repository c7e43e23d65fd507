import { z } from 'zod';
import { attackSpecSchema, base64Schema, seedSchema, testFractionSchema } from './common-fields.schema';
import { fieldMessage } from './issue-messages';
import { datasetRefSchema, IMPORTED_MODEL } from './vocabulary';

/**
 * An imported TensorFlow.js Layers model (POST /models/import): the worker loads the upload
 * (its checkpoint at epoch 0), checks it against the dataset, exposes its logits and measures
 * its clean and FGSM accuracy on the test split. Its checkpoint is then the accepted model.
 */

/** A label, shown in lineage and never used as a path: any text but control characters. */
const name = z
  .string()
  .max(200)
  .regex(/^\P{Cc}*$/u, fieldMessage('must not hold control characters'));

/** Body of POST /models/import: a Layers model as its files hold it. Only the shape of model.json is checked by the API; loading it is the worker's job. */
export const importModelRequestSchema = z.strictObject({
  dataset: datasetRefSchema.meta({ example: 'mnist', description: "What the model classifies: its input shape and class count must be the dataset's" }),
  modelJson: z
    .record(z.string(), z.unknown())
    .meta({ description: 'model.json as tensorflowjs_converter or model.save() writes it: modelTopology and weightsManifest' }),
  weights: base64Schema.meta({ description: 'Base64 of the weight files (group1-shard1of1.bin, …) concatenated in weightsManifest order' }),
  name: name.optional().meta({ description: 'A label for the model' }),
  seed: seedSchema.optional().meta({ description: 'Seed of the test split the import is measured on (mnist), default 0' }),
  testFraction: testFractionSchema.optional().meta({ description: 'For mnist: the fraction held out as the seeded test split, default 0.2' }),
});
export type ImportModelRequest = z.infer<typeof importModelRequestSchema>;

const byteCount = z.int().min(0);

export const importRunSpecSchema = z.strictObject({
  kind: z.literal('import'),
  dataset: datasetRefSchema,
  model: z.literal(IMPORTED_MODEL),
  /** The client's label for the model. */
  name: name.optional(),
  /** The attack measured on the test split at import. */
  attack: attackSpecSchema,
  /** The test split measured on, fixed as a training run fixes its own. */
  seed: seedSchema,
  testFraction: testFractionSchema,
  /** The upload as stored: its sha256 stays here when the worker replaces it with the accepted model. */
  upload: z.strictObject({ sha256: z.hex().length(64), sizeBytes: byteCount, weightBytes: byteCount }),
});
export type ImportRunSpec = z.infer<typeof importRunSpecSchema>;
