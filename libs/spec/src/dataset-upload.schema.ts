import { z } from 'zod';
import { DEFAULT_TEST_FRACTION, seedSchema, testFractionSchema } from './common-fields.schema';
import { fieldMessage } from './issue-messages';

/** A label: any text but control characters, as an import's name. */
const label = z
  .string()
  .min(1)
  .max(200)
  .regex(/^\P{Cc}*$/u, fieldMessage('must not hold control characters'));

/** Multipart fields are text: numbers come as decimal strings, class names as a JSON array or a comma-separated list. */
const decimal = (schema: z.ZodType<number, number>) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?(e-?\d+)?$/i, fieldMessage('must be a number'))
    .transform(Number)
    .pipe(schema);

const classNames = z
  .string()
  .transform((text) => (text.trimStart().startsWith('[') ? parseJsonList(text) : text.split(',').map((name) => name.trim())))
  .pipe(z.array(label).min(2).max(256));

function parseJsonList(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The text fields of POST /datasets (multipart/form-data; the files are its parts). The split
 * fields apply only when no test parts are uploaded: the seeded hold-out, fixed once for every
 * run on the dataset, so defenses compared on it are measured on the same test examples.
 */
export const datasetUploadFieldsSchema = z.strictObject({
  name: label,
  classNames: classNames.optional(),
  testFraction: decimal(testFractionSchema).optional(),
  seed: decimal(seedSchema).optional(),
});
export type DatasetUploadFields = z.output<typeof datasetUploadFieldsSchema>;
export const DEFAULT_UPLOAD_TEST_FRACTION = DEFAULT_TEST_FRACTION;
