/** One HTTP answer and how long it took. */
export interface TimedAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, as supertest's `body` is
  body: any;
  headers: Headers;
  ms: number;
}

/**
 * One request, timed; a request still unanswered after `abortMs` ends as status 0 (a hang is
 * what outage tests look for, so it must fail their assertions, not the test's timeout).
 */
export async function timedCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  abortMs = 5000,
): Promise<TimedAnswer> {
  const started = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(abortMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body: parsed, headers: res.headers, ms: performance.now() - started };
  } catch {
    return { status: 0, body: undefined, headers: new Headers(), ms: performance.now() - started };
  }
}
