/** Lets progress messages and cancel checks through between batches of a long tfjs loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
