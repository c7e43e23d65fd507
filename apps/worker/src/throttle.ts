/**
 * Calls `fn` at most once per `intervalMs`; in between, returns the last result (or `initial`).
 * Keeps per-batch hooks (cancel checks, progress writes) from hitting Postgres every batch.
 */
export function throttle<A extends unknown[], R>(fn: (...args: A) => Promise<R>, intervalMs: number, initial: R) {
  let last = -Infinity;
  let value = initial;
  return async (...args: A): Promise<R> => {
    const now = Date.now();
    if (now - last >= intervalMs) {
      last = now;
      value = await fn(...args);
    }
    return value;
  };
}
