/** One Server-Sent Events message as a client sees it (comments dropped). */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** A live SSE stream read with fetch(), as the dashboard and CLI read one (headers, so the key travels as Authorization). */
export interface SseStream {
  status: number;
  /** Every message received so far, in order. */
  messages: SseMessage[];
  /** Comment lines received so far (heartbeats, "connected"). */
  comments: string[];
  /** Resolves once the server ended the stream (or it was aborted). */
  ended: Promise<void>;
  /** Resolves with the messages once `done` holds for them; rejects after `timeoutMs` or if the stream ends first. */
  until(done: (messages: SseMessage[]) => boolean, timeoutMs: number): Promise<SseMessage[]>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let finished = false;
  const notify = () => waiters.forEach((w) => w());

  const ended = (async () => {
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) message.id = line.slice(4);
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) messages.push({ ...message, data: data.join('\n') });
        }
        notify();
      }
    } catch {
      // Aborted by close(): what arrived is in `messages`.
    } finally {
      finished = true;
      notify();
    }
  })();

  return {
    status: res.status,
    messages,
    comments,
    ended,
    until(done, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (done(messages)) finish(() => resolve(messages));
          else if (finished) finish(() => reject(new Error(`the stream ended before the condition held (${messages.length} messages)`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no such messages within ${timeoutMs} ms (${messages.length} received)`))), timeoutMs);
        const finish = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      abort.abort();
    },
  };
}
