import type { Resolution } from './run-spec';

/** The spec a resolution gave; a test that expected one fails with the problems instead. */
export function specOf<T>(result: Resolution<T>): T {
  if (!result.ok) throw new Error(`expected a spec, got: ${result.errors.join('; ')}`);
  return result.spec;
}

/** The problems a resolution found (none for a spec). */
export function problemsOf<T>(result: Resolution<T>): string[] {
  return result.ok ? [] : result.errors;
}
