import type { RunEvent, RunEventGap } from '@bulwark/spec';

/**
 * Server-Sent Events framing (WHATWG HTML §9.2). An event's JSON holds no raw newline (JSON.stringify
 * escapes them inside strings), so one `data:` line carries it; the id is its stream entry's.
 */
export function sseEvent(id: string, event: RunEvent): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A gap notice carries no id: the client's Last-Event-ID stays the last event it received. */
export function sseGap(gap: RunEventGap): string {
  return `event: gap\ndata: ${JSON.stringify(gap)}\n\n`;
}

/** A comment line: clients ignore it; it keeps proxies and load balancers from closing an idle stream. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** How long an EventSource-style client waits before reconnecting after the stream ends (ms). */
export function sseRetry(ms: number): string {
  return `retry: ${Math.round(ms)}\n\n`;
}
