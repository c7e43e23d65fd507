/** A JSON call on Bulwark's API for the scripts: throws with the status and body on anything but 2xx. */
export type ApiCall = <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<T>;

export function apiClient(base: string): ApiCall {
  return async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json as T;
  };
}
