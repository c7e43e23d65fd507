import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';
import type { Run } from '@bulwark/database';
import { parseWithMessages } from '@bulwark/spec';

/**
 * A run's stored spec, checked against the schema the API resolved it with. One the worker
 * cannot run (written by another version or by hand) is a configuration error: retrying
 * cannot fix it, so it fails the run at once, saying which fields are at fault.
 */
export function storedSpec<S extends z.ZodType>(schema: S, run: Pick<Run, 'spec'>): z.output<S> {
  const parsed = parseWithMessages(schema, run.spec);
  if (!parsed.ok) throw new UnrecoverableError(parsed.errors.join('; '));
  return parsed.value;
}

/** A job runs a run of its own kind only: job name = run kind. */
export function assertJobKind(jobName: string, run: Pick<Run, 'spec'>): void {
  if (run.spec.kind !== jobName) throw new UnrecoverableError(`job ${jobName} cannot run a run of kind "${run.spec.kind}"`);
}
