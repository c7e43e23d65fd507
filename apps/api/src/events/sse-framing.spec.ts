import type { RunEvent } from '@bulwark/spec';
import { sseComment, sseEvent, sseGap, sseRetry } from './sse-framing';

/** A minimal SSE parser as the spec describes it: what a browser or the CLI makes of the bytes. */
function parse(text: string): { id?: string; event?: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.length)
    .flatMap((block) => {
      const message: { id?: string; event?: string; data: string[] } = { data: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') message.data.push(value);
      }
      return message.data.length ? [{ id: message.id, event: message.event, data: message.data.join('\n') }] : [];
    });
}

describe('SSE framing', () => {
  const failed: RunEvent = {
    type: 'status',
    runId: 'r',
    kind: 'train',
    at: '2026-12-06T14:00:00.000Z',
    status: 'failed',
    error: 'line one\nline two\r\n: not a comment',
  };

  it('frames an event as one message with its stream id, type and JSON, even when its text holds newlines', () => {
    const text = sseEvent('1764700000123-0', failed);
    expect(text.endsWith('\n\n')).toBe(true);
    expect(text.slice(0, -2)).not.toMatch(/\n\n/);
    expect(parse(text)).toEqual([{ id: '1764700000123-0', event: 'status', data: JSON.stringify(failed) }]);
    expect(JSON.parse(parse(text)[0].data)).toEqual(failed);
  });

  it('frames heartbeats as comments a client ignores, on one line', () => {
    const text = sseComment('keep-alive\nid: 9-9') + sseEvent('1-0', failed) + sseRetry(2000);
    expect(parse(text).map((m) => m.id)).toEqual(['1-0']);
    expect(sseComment('a\nb')).toBe(': a b\n\n');
    expect(sseRetry(2000)).toBe('retry: 2000\n\n');
  });

  it('frames a gap notice without an id, so the client resumes from the last event it received', () => {
    const [message] = parse(sseGap({ type: 'gap', after: '1-0', oldest: '5-0' }));
    expect(message).toEqual({ id: undefined, event: 'gap', data: '{"type":"gap","after":"1-0","oldest":"5-0"}' });
  });
});
