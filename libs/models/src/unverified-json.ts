/** Parsed JSON of a known shape (a file, an upload) whose fields are yet to be checked. */
export type Unverified<T> = { [K in keyof T]?: unknown };

/** Array.isArray without its `any[]`: the elements are still to be checked. */
export function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}
