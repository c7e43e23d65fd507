/** A JSON call on Bulwark's API for the scripts: throws with the status and body on anything but 2xx. */
export type ApiCall = <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<T>;

/**
 * The Authorization header of the scripts' calls: the key given, else BULWARK_API_KEY (scripts/demo.sh
 * and report.sh create one with `npm run -s keys -- create`).
 */
export function apiAuthHeaders(key = process.env.BULWARK_API_KEY): { Authorization: string } {
  if (!key) {
    throw new Error('no API key: set BULWARK_API_KEY to a key from `npm run -s keys -- create --tenant NAME --role member`');
  }
  return { Authorization: `Bearer ${key}` };
}

export function apiClient(base: string, key?: string): ApiCall {
  const auth = apiAuthHeaders(key);
  return async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json as T;
  };
}
