/**
 * Checking and parsing a JSON body, as pure functions that name nothing outside themselves: the
 * off-thread parser (json-parse-thread.ts) runs their source text in a worker thread, so a large
 * body is parsed there while the event loop goes on serving other requests.
 */

/**
 * Whether UTF-8 JSON text nests arrays and objects deeper than `max`, found in one pass over the
 * bytes before JSON.parse or any schema walks the value. Strings are skipped with Buffer's native
 * search for their closing quote (a base64 upload is one long string); none of the bytes looked
 * for ever occurs inside a multi-byte UTF-8 character, so nothing needs decoding.
 */
export function nestsDeeperThan(text: Uint8Array & { indexOf(byte: number, from: number): number }, max: number): boolean {
  const [quote, backslash, openBracket, openBrace, closeBracket, closeBrace] = [0x22, 0x5c, 0x5b, 0x7b, 0x5d, 0x7d];
  /** Whether the byte at `at` is escaped: an odd run of backslashes before it. */
  const escaped = (at: number) => {
    let start = at;
    while (start > 0 && text[start - 1] === backslash) start--;
    return (at - start) % 2 === 1;
  };
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (byte === quote) {
      let end = text.indexOf(quote, i + 1);
      while (end !== -1 && escaped(end)) end = text.indexOf(quote, end + 1);
      // An unterminated string: JSON.parse refuses the body.
      if (end === -1) return false;
      i = end;
    } else if (byte === openBracket || byte === openBrace) {
      if (++depth > max) return true;
    } else if (byte === closeBracket || byte === closeBrace) {
      depth--;
    }
  }
  return false;
}

/**
 * The path of the first prototype key (`__proto__`, `constructor`, `prototype`: `keys`) at any
 * depth of a parsed body, or null. Iterative, so its cost is the size of the value, never the stack.
 */
export function prototypeKeyPath(value: unknown, keys: readonly string[]): string | null {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: node, path } = next;
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      node.forEach((item: unknown, i) => {
        if (typeof item === 'object' && item !== null) pending.push({ value: item, path: `${path}${i}.` });
      });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (keys.includes(key)) return `${path}${key}`;
      pending.push({ value: (node as Record<string, unknown>)[key], path: `${path}${key}.` });
    }
  }
  return null;
}

/** A parsed body, or what is wrong with it. */
export type JsonBodyOutcome =
  { ok: true; value: unknown } | { ok: false; problem: 'too-deep' | 'syntax'; message: string } | { ok: false; problem: 'prototype-key'; path: string };

/**
 * A UTF-8 body as the API takes it: nesting bounded before parsing, an object or an array at the
 * top (body-parser's strict mode), no prototype keys at any depth. An empty body is `{}`.
 */
export function parseJsonBody(
  bytes: Uint8Array & { indexOf(byte: number, from: number): number; toString(encoding: 'utf8'): string },
  maxDepth: number,
  prototypeKeys: readonly string[],
): JsonBodyOutcome {
  if (bytes.length === 0) return { ok: true, value: {} };
  if (nestsDeeperThan(bytes, maxDepth)) {
    return { ok: false, problem: 'too-deep', message: `body nests arrays and objects deeper than the limit of ${maxDepth} levels` };
  }
  const text = bytes.toString('utf8');
  const first = /\S/.exec(text);
  if (first !== null && first[0] !== '{' && first[0] !== '[') {
    return { ok: false, problem: 'syntax', message: `Unexpected token '${first[0]}' at position ${first.index}: a body is a JSON object or array` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: 'syntax', message: err instanceof Error ? err.message : String(err) };
  }
  const path = prototypeKeyPath(value, prototypeKeys);
  return path === null ? { ok: true, value } : { ok: false, problem: 'prototype-key', path };
}
