import type { EvaluationRunSpec } from './evaluation-run.schema';
import type { ImportRunSpec } from './import-run.schema';
import type { TrainingRunSpec } from './training-run.schema';

/** A run whose checkpoints hold a model, as stored. */
export type ModelRunSpec = TrainingRunSpec | ImportRunSpec;

/** Any run's stored spec (runs.spec), told apart by `kind`. */
export type RunSpec = TrainingRunSpec | EvaluationRunSpec | ImportRunSpec;

/** What resolving a request gives: the spec to store, or every problem found, each naming its field. */
export type Resolution<T> = { ok: true; spec: T } | { ok: false; errors: string[] };
