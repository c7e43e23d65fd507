/**
 * DTO instances carry every declared field, unset ones as undefined (class fields are defined
 * under ES2022): keep only what the client said, so defaults and stored specs are not
 * overwritten by undefined.
 */
export function definedFields<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
