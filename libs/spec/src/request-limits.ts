import { DATASET_INPUT_SHAPES } from './vocabulary';

/**
 * Bounds every request is held to before any schema looks at it, declared once so the API's
 * parser, the schemas and the README quote the same numbers. The body size limits are
 * deployment settings (BODY_LIMIT_BYTES, MODEL_UPLOAD_LIMIT_BYTES in @bulwark/config).
 */

/**
 * Deepest nesting of arrays and objects a JSON body may have. A Layers model.json (the deepest
 * body the API takes) nests about a dozen levels; thousands of levels only exhaust the stack of
 * whatever walks the value recursively.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Keys refused at any depth of a body or query: JSON.parse keeps them as own keys, and code
 * that copies or merges the value can then reach Object.prototype through them.
 */
export const PROTOTYPE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Largest value of a Postgres `integer` column (epochs, steps): larger numbers never reach SQL. */
export const MAX_INT4 = 2 ** 31 - 1;

/**
 * Most metric points a resumed run may bring: about 25 series a run writes each epoch, over
 * hundreds of epochs. Checked before the points are validated one by one.
 */
export const MAX_RESUME_METRICS = 20_000;

/** Numbers in one flattened input image: the largest dataset's H·W·C (CIFAR-10's 3,072). */
export const MAX_INPUT_LENGTH = Math.max(...Object.values(DATASET_INPUT_SHAPES).map(([h, w, c]) => h * w * c));
