/** `map.get(key)` for a key the caller put there: a missing one is a bug, reported as such. */
export function mapEntry<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`no entry for ${String(key)}`);
  return value;
}
