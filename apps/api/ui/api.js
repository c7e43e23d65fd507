// The API key lives in sessionStorage (gone when the tab closes) and travels only in the
// Authorization header: never a cookie (a browser would add it to other sites' requests) and
// never in a URL (it would land in logs and history).
const KEY = 'bulwark.apiKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    const messages = Array.isArray(body?.message) ? body.message : [body?.message ?? `HTTP ${status}`];
    super(messages.join('; '));
    this.status = status;
    this.messages = messages.map(String);
  }
}

function headers(extra = {}) {
  const key = session.key();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

/** One JSON call; throws ApiError with the API's messages on any non-2xx answer. */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? safeJson(text) : null;
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

/** A multipart upload (a dataset's files): the browser writes the boundary, the key goes as for JSON. */
export async function apiForm(path, form) {
  const res = await fetch(path, { method: 'POST', headers: headers(), body: form });
  const text = await res.text();
  const parsed = text ? safeJson(text) : null;
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** Downloads a file the API serves only with the key: fetched, then saved from a blob URL. */
export async function download(path, fallbackName) {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw new ApiError(res.status, safeJson(await res.text()));
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Server-Sent Events read with fetch(): EventSource cannot send an Authorization header.
 * Calls onEvent({ id, event, data }) per event and resolves when the stream ends; rejects when
 * it cannot be opened (the caller then polls). Sends Last-Event-ID so a reconnect loses nothing.
 */
export async function readEvents(path, { lastEventId, signal, onOpen, onEvent }) {
  const res = await fetch(path, {
    headers: headers({ Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) }),
    signal,
  });
  if (!res.ok || !res.body || !(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
    throw new ApiError(res.status, { message: `no event stream at ${path}` });
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { id: undefined, event: 'message', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (event.data.length) onEvent({ id: event.id, event: event.event, data: event.data.join('\n') });
        event = { id: event.id, event: 'message', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data.push(val);
      else if (field === 'event') event.event = val;
      else if (field === 'id') event.id = val;
    }
  }
}
