import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';
import { parseWithMessages } from '@bulwark/spec';

/**
 * A run's stored spec, checked against the schema the API resolved it with. One the worker
 * cannot run (written by another version or by hand) is a configuration error: retrying
 * cannot fix it, so it fails the run at once, saying which fields are at fault.
 */
export function storedSpec<S extends z.ZodType>(schema: S, stored: unknown): z.output<S> {
  const parsed = parseWithMessages(schema, stored);
  if (!parsed.ok) throw new UnrecoverableError(parsed.errors.join('; '));
  return parsed.value;
}

/** A job runs a run of its own kind only: job name = run kind. */
export function assertJobKind(jobName: string, stored: { kind: string }): void {
  if (stored.kind !== jobName) throw new UnrecoverableError(`job ${jobName} cannot run a run of kind "${stored.kind}"`);
}

/** What a job checks before its run starts: job name = run kind, and the stored spec parses with `schema`. */
export function specCheck<S extends z.ZodType>(jobName: string, schema: S): (stored: { kind: string }) => z.output<S> {
  return (stored) => {
    assertJobKind(jobName, stored);
    return storedSpec(schema, stored);
  };
}
